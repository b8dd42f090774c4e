"""The ``coin`` task kind: Bernoulli trials of known probability (design.md section 7).

A trial is heads (1.0) with probability ``p_heads``, drawn from ``rng(seed, "coin", "trial", i)``.
Its answer is known exactly, which makes it the engine's reference: a stopping question
about ``p_heads`` far from the target must stop at the first checkpoint, one at the target
must run to the cap, and the stored trials must not depend on workers or chunking.  It is
also the example of docs/campaign.md, "Adding a task kind".
"""

from __future__ import annotations

import attrs
import numpy as np

from qtaml_hw.campaign.kinds import register
from qtaml_hw.campaign.structure import in_range
from qtaml_hw.seeding import rng


@attrs.frozen
class CoinParams:
    p_heads: float = attrs.field(validator=in_range("coin.p_heads", 0.0, 1.0))


class CoinKind:
    name = "coin"
    params_type = CoinParams
    metrics = ("heads",)
    primary = "heads"

    def context_key(self, params: CoinParams) -> str:
        return "coin"

    def prepare(self, params: CoinParams) -> None:
        return None

    def run(self, ctx, params: CoinParams, *, seed: int, start: int, count: int) -> dict:
        heads = [float(rng(seed, "coin", "trial", i).random() < params.p_heads) for i in range(start, start + count)]
        return {"heads": np.asarray(heads)}

    def info(self, ctx, params: CoinParams) -> dict:
        return {"expected": params.p_heads}


COIN = register(CoinKind())
