"""Progress on stderr (design.md section 7): trials done, rate and ETA through tqdm."""

from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    """A tqdm bar over trials (``initial`` = trials already in the store); silent when disabled."""

    def __init__(self, *, total: int, initial: int = 0, enabled: bool = True, desc: str = "trials"):
        self._bar = None
        if enabled:
            self._bar = tqdm(total=total, initial=initial, desc=desc, unit="trial", file=sys.stderr,
                             dynamic_ncols=True, mininterval=0.5, smoothing=0.1)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def shrink(self, n: int) -> None:
        """A task stopped ``n`` trials before its cap: take them off the total."""
        if self._bar is not None and n > 0:
            self._bar.total = max(self._bar.n, self._bar.total - n)
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
