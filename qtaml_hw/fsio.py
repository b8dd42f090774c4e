"""Atomic, no-symlink file writes for every output of the project (issue 12 item 4).

Three promises, for every file and folder ``qtaml-hw`` writes:

* **Nothing half-written.** A file is written to a fresh temporary file in the target's own
  directory (``tempfile.mkstemp``: ``O_CREAT | O_EXCL``, a random name, so a planted file or
  symlink there is never opened), flushed, ``fsync``-ed and renamed over the target with
  ``os.replace`` (atomic on POSIX).  A report folder is built in a temporary folder beside
  it and swapped into place in one ``renameat2(RENAME_EXCHANGE)`` (two renames where the
  kernel lacks it), so a reader -- or a run killed at any instant -- sees the old folder or
  the complete new one, never a mix.
* **No write through a symlink it did not create.** A target that is a symbolic link
  (``os.lstat``) is refused with one line; the temporary names are created exclusively.
* **Paths read from a manifest stay inside its folder.** :func:`confined` refuses absolute
  paths, ``..`` and symlinks that lead outside.

Temporary names carry the writer's pid (``.<name>.<pid>.qtaml-tmp-*``); leftovers of a killed
writer (a dead pid) are swept the next time the same target is written.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path, PurePath

from qtaml_hw.errors import QtamlError

TMP_TAG = "qtaml-tmp-"
REPORT_SUFFIXES = (".md", ".csv", ".json", ".png", ".svg", ".txt", ".toml")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _tmp_prefix(name: str) -> str:
    return f".{name}.{os.getpid()}.{TMP_TAG}"


def check_target(path, *, directory: bool = False) -> Path:
    """``path`` if it is absent or a regular file (a directory when ``directory``); else a one-line error.

    Uses ``os.lstat``: a symbolic link at the target is refused, never followed.
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise QtamlError(f"cannot write {path}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise QtamlError(f"refusing to write through the symbolic link {path}; remove it or choose another path")
    if directory and not stat.S_ISDIR(st.st_mode):
        raise QtamlError(f"{path} exists and is not a directory")
    if not directory and stat.S_ISDIR(st.st_mode):
        raise QtamlError(f"{path} is a directory; give a file path")
    if not directory and not stat.S_ISREG(st.st_mode):
        raise QtamlError(f"{path} is not a regular file; refusing to overwrite it")
    return path


def check_dir_writable(directory) -> Path:
    """``directory`` if it exists, is a directory and is writable; else a one-line error."""
    directory = Path(directory) if str(directory) else Path(".")
    if not directory.is_dir():
        raise QtamlError(f"output directory does not exist: {directory}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise QtamlError(f"output directory is not writable: {directory}")
    return directory


def _sweep_stale(parent: Path, name: str) -> None:
    """Remove temporaries of ``name`` left in ``parent`` by writers that are no longer alive."""
    lead = f".{name}."
    try:
        with os.scandir(parent) as it:
            entries = list(it)
    except OSError:
        return
    for entry in entries:
        rest = entry.name[len(lead):] if entry.name.startswith(lead) else ""
        pid_text, _, tail = rest.partition(".")
        if not tail.startswith(TMP_TAG) or not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def open_atomic(path, mode: str = "wb"):
    """Context manager: a file object whose content replaces ``path`` atomically on a clean exit.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"open_atomic: mode must be 'w' or 'wb', got {mode!r}")
    path = check_target(path)
    parent = check_dir_writable(path.parent)
    _sweep_stale(parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=_tmp_prefix(path.name), dir=parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        check_target(path)  # refuse a symlink planted while we wrote
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_bytes(path, data: bytes) -> Path:
    """Atomically write ``data`` to ``path`` (temp file in the same folder + ``os.replace``)."""
    with open_atomic(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_text(path, text: str) -> Path:
    """Atomically write UTF-8 ``text`` to ``path``."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path, obj, *, indent: int = 2) -> Path:
    """Atomically write ``obj`` as JSON (strict: NaN/inf refused) followed by a newline."""
    return write_text(path, json.dumps(obj, indent=indent, allow_nan=False) + "\n")


def save_figure(fig, path, **kwargs) -> Path:
    """``fig.savefig`` into ``path`` atomically (format from the suffix)."""
    path = Path(path)
    with open_atomic(path, "wb") as fh:
        fig.savefig(fh, format=path.suffix.lstrip(".") or "png", **kwargs)
    return path


def make_dirs(path) -> Path:
    """``mkdir -p`` that refuses a symlink or a file at ``path``."""
    path = check_target(path, directory=True)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_replaceable(path: Path, suffixes) -> bool:
    """True if ``path`` exists; refuses a folder holding anything but files with ``suffixes``."""
    path = check_target(path, directory=True)
    if not path.exists():
        return False
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_symlink() or not entry.is_file() or not entry.name.endswith(tuple(suffixes)):
                raise QtamlError(f"{path} already holds {entry.name!r}, which is not a report file: "
                                 "choose another output folder")
    return True


@contextlib.contextmanager
def atomic_dir(path, *, suffixes=REPORT_SUFFIXES):
    """Context manager yielding a temporary folder that replaces ``path`` as a whole on a clean exit.

    ``path`` may be absent, or a folder holding only files with ``suffixes`` (an earlier
    report): anything else is refused before anything is written, so a user's folder is never
    swapped away.  Missing parent folders are created.
    """
    path = Path(path)
    _check_replaceable(path, suffixes)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        make_dirs(parent)
    check_dir_writable(parent)
    _sweep_stale(parent, path.name)
    tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(path.name), dir=parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if _check_replaceable(path, suffixes):
            _exchange(tmp, path)
            shutil.rmtree(tmp)  # now the old folder
        else:
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _exchange(a: Path, b: Path) -> None:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); fallback: two renames."""
    fn = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if fn is not None:
        at_fdcwd, rename_exchange = -100, 2
        if fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), str(b))
    old = Path(tempfile.mkdtemp(prefix=_tmp_prefix(b.name), dir=b.parent))
    os.rename(b, old / "old")
    os.rename(a, b)
    os.rename(old, a)  # the caller removes ``a``, now holding the old folder


def read_limited(path, *, limit_bytes: int = 16 << 20, what: str = "file") -> bytes:
    """The bytes of the regular file ``path`` (symlinks followed), refusing a device, a FIFO or
    anything over ``limit_bytes`` -- ``/dev/zero`` as a config must not read until memory runs out."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the open
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise QtamlError(f"{what} {path} is a directory")
            if not stat.S_ISREG(st.st_mode):
                raise QtamlError(f"{what} {path} is not a regular file")
            data = fh.read(limit_bytes + 1)
    except FileNotFoundError:
        raise QtamlError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise QtamlError(f"{what} {path} is a directory") from None
    except OSError as exc:
        raise QtamlError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > limit_bytes:
        raise QtamlError(f"{what} {path} is larger than {limit_bytes >> 20} MiB; refusing to read it")
    return data


def confined(base, relative) -> Path:
    """``base / relative`` if it stays inside ``base`` (no absolute path, no ``..``, no symlink escape).

    For file names read from a manifest or any other untrusted document.
    """
    base = Path(base)
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        raise QtamlError(f"expected a file name inside {base}, got {relative!r}")
    rel = PurePath(relative)
    if rel.is_absolute() or ".." in rel.parts or rel.drive:
        raise QtamlError(f"file {relative!r} is outside {base}: only names inside the folder are allowed")
    full = base / rel
    real_base = os.path.realpath(base)
    real = os.path.realpath(full)
    if os.path.commonpath([real_base, real]) != real_base:
        raise QtamlError(f"file {relative!r} leads outside {base} (symbolic link); refusing to read it")
    return full
