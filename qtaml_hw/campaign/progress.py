"""Progress on stderr (design.md section 7): trials done, rate and ETA through tqdm."""

from __future__ import annotations

import sys


class Progress:
    """A tqdm bar over trials (``initial`` = trials already in the store); silent when disabled."""

    def __init__(self, *, total: int, initial: int = 0, enabled: bool = True, desc: str = "trials"):
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=desc, unit="trial", file=sys.stderr,
                             dynamic_ncols=True, mininterval=0.5, smoothing=0.1)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
