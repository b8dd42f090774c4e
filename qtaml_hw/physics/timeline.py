"""A simpy timeline of weight-memory writes, reads and scrubs (design.md section 1, "Time").

Each word's clock restarts when it is written or scrubbed (a scrub reads, corrects and
rewrites the word).  At each read the timeline records the word's retention interval
``t = now - last_refresh`` and turns it into ``p10 = 1 - exp(-t / tau)``, ``p01 = r p10``.

Order at equal times: writes and scrubs scheduled for time ``t`` take effect before a read at
``t`` (the reader yields one zero-delay timeout, which simpy queues behind every event already
scheduled for ``t``).  Events act on whole sets of words at once (NumPy index updates), so
the cost is per event, not per word.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qtaml_hw.errors import QtamlError
from qtaml_hw.physics.retention import p_flip_poisson


def _times(name, values) -> tuple[float, ...]:
    arr = np.asarray(values if values is not None else (), dtype=np.float64).ravel()
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise QtamlError(f"{name} must be finite times >= 0 s")
    return tuple(float(v) for v in np.sort(arr))


@dataclass(frozen=True)
class Schedule:
    """Memory activity: ``n_words`` words, all written at ``t = 0``, then

    * ``write_times_s``: rewrites of every word (e.g. a new model loaded);
    * ``read_times_s``: inference passes, each reading every word;
    * ``scrub_period_s``: periodic scrubs (``None``: never); ``scrub_chunks`` splits the memory into
      that many contiguous chunks, chunk ``c`` scrubbed at ``k P + c P / chunks`` (a scrub engine
      walking the array; 1 = whole memory at ``k P``);
    * ``scrub_times_s``: extra one-off scrubs of every word.
    """

    n_words: int
    read_times_s: tuple[float, ...]
    write_times_s: tuple[float, ...] = ()
    scrub_period_s: float | None = None
    scrub_chunks: int = 1
    scrub_times_s: tuple[float, ...] = field(default=())

    def __post_init__(self):
        if int(self.n_words) < 1:
            raise QtamlError(f"n_words must be >= 1, got {self.n_words}")
        object.__setattr__(self, "read_times_s", _times("read_times_s", self.read_times_s))
        object.__setattr__(self, "write_times_s", _times("write_times_s", self.write_times_s))
        object.__setattr__(self, "scrub_times_s", _times("scrub_times_s", self.scrub_times_s))
        if not self.read_times_s:
            raise QtamlError("read_times_s must hold at least one read time")
        if self.scrub_period_s is not None and not (np.isfinite(self.scrub_period_s) and self.scrub_period_s > 0):
            raise QtamlError(f"scrub_period_s must be > 0 (or None for no scrubbing), got {self.scrub_period_s}")
        if not 1 <= int(self.scrub_chunks) <= int(self.n_words):
            raise QtamlError(f"scrub_chunks must be in 1..n_words={self.n_words}, got {self.scrub_chunks}")


@dataclass(frozen=True)
class TimelineResult:
    """``intervals_s[i, w]``: retention interval of word ``w`` at read ``i`` (``read_times_s[i]``)."""

    read_times_s: np.ndarray
    intervals_s: np.ndarray
    n_scrubs: int

    def p10(self, *, tau_s) -> np.ndarray:
        """``1 - exp(-interval / tau)`` per read and word (``tau_s`` scalar or per word)."""
        return np.asarray(p_flip_poisson(self.intervals_s, tau_s=tau_s))

    def p01(self, *, tau_s, r=1.0) -> np.ndarray:
        from qtaml_hw.physics.flips import directional

        return directional(self.p10(tau_s=tau_s), r=r)["p01"]


def simulate(schedule: Schedule) -> TimelineResult:
    """Run the schedule through a simpy ``Environment``; return per-read, per-word retention intervals."""
    import simpy

    n = int(schedule.n_words)
    last = np.zeros(n)                     # every word written at t = 0
    reads = schedule.read_times_s
    out = np.empty((len(reads), n))
    env = simpy.Environment()
    counter = {"scrubs": 0}
    horizon = reads[-1]

    def at_times(times, action):
        for t in times:
            yield env.timeout(t - env.now)
            action()

    def refresh(sl):
        def act():
            last[sl] = env.now
        return act

    def scrub_all():
        last[:] = env.now
        counter["scrubs"] += 1

    def scrubber(chunk, lo, hi):
        period = float(schedule.scrub_period_s)
        offset = chunk * period / schedule.scrub_chunks
        k = 0 if offset > 0 else 1
        while k * period + offset <= horizon:
            yield env.timeout(k * period + offset - env.now)
            last[lo:hi] = env.now
            counter["scrubs"] += 1
            k += 1

    def reader():
        for i, t in enumerate(reads):
            yield env.timeout(t - env.now)
            yield env.timeout(0)           # let writes/scrubs due at t act first
            out[i] = env.now - last

    env.process(at_times(schedule.write_times_s, refresh(slice(None))))
    env.process(at_times(schedule.scrub_times_s, scrub_all))
    if schedule.scrub_period_s is not None:
        edges = np.linspace(0, n, int(schedule.scrub_chunks) + 1).round().astype(int)
        for c in range(int(schedule.scrub_chunks)):
            env.process(scrubber(c, edges[c], edges[c + 1]))
    env.process(reader())
    env.run()
    return TimelineResult(read_times_s=np.asarray(reads), intervals_s=out, n_scrubs=counter["scrubs"])


def scrub_retention(*, scrub_period_s, read_times_s, tau_s=None, r=1.0, n_words: int = 1,
                    scrub_chunks: int = 1) -> dict:
    """"Given scrub period P and read time(s)": worst/mean retention interval and ``p10``/``p01``.

    Simulates :class:`Schedule` (words written at 0, periodic scrubs) and reduces over reads and
    words.  ``scrub_period_s=None`` means no scrubbing.  ``p10`` keys are present when ``tau_s`` is
    given.  With reads spread uniformly over many periods the mean interval tends to ``P / 2`` and
    the worst case to ``P`` (never more than ``P`` once the first scrub has happened).
    """
    sched = Schedule(n_words=n_words, read_times_s=read_times_s, scrub_period_s=scrub_period_s,
                     scrub_chunks=scrub_chunks)
    res = simulate(sched)
    out = {"scrub_period_s": scrub_period_s, "n_reads": len(sched.read_times_s), "n_scrubs": res.n_scrubs,
           "worst_interval_s": float(res.intervals_s.max()), "mean_interval_s": float(res.intervals_s.mean())}
    if tau_s is not None:
        from qtaml_hw.physics.flips import directional

        p = res.p10(tau_s=tau_s)
        worst = directional(float(p.max()), r=r)
        mean = directional(float(p.mean()), r=r)
        out.update({"worst_p10": worst["p10"], "worst_p01": worst["p01"], "mean_p10": mean["p10"],
                    "mean_p01": mean["p01"]})
    return out
