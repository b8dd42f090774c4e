"""One writer per result store: a second ``campaign run`` on the same store is refused (design.md section 7).

Choice: *refuse*, not wait or share.  Sharing would need a work queue in the store; waiting
would hide a mistake (two runs of one config double nothing, since trials are unique, but a
run of another config on the same store is a mistake the user should see at once).  The
second run exits with one line naming the holder's pid; run it again when the first is done,
and it resumes from what the first stored.

Mechanism: ``fcntl.flock`` (exclusive, non-blocking) on ``<store>.lock`` next to the store.
The kernel releases the lock when the holder dies, even by SIGKILL, so a stale lock file
never blocks a resume.  The lock file holds the holder's pid and is removed on release; a
run that finds the file replaced by another process's between ``open`` and ``flock`` retries.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from qtaml_hw.errors import QtamlError


def lock_path(store_path) -> Path:
    p = Path(store_path)
    return p.with_name(p.name + ".lock")


class StoreLock:
    """Context manager holding the exclusive writer lock of one store."""

    def __init__(self, store_path):
        self.path = lock_path(store_path)
        self.fd: int | None = None

    def acquire(self) -> None:
        for _ in range(20):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            except OSError as exc:
                raise QtamlError(f"cannot create the store lock {self.path}: {exc.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise QtamlError(f"another `campaign run` (pid {holder}) is writing {self.path.with_suffix('')}; "
                                 "wait for it to finish (a rerun resumes from its results) or choose another "
                                 "--out") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
                self.fd = fd
                return
            os.close(fd)  # the holder removed this file as we opened it: try the new one
        raise QtamlError(f"could not take the store lock {self.path}")

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
