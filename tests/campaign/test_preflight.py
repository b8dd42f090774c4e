"""Pre-flight estimates (issue 12 item 3): counted from the config alone, close to what a run really
uses (tracemalloc peak of a chunk, bytes of a real store), refused above the caps in one line."""

from __future__ import annotations

import logging
import tracemalloc

import pytest

from qtaml_hw.campaign import execute_chunk, expand_tasks, load_config, parse_config, run_campaign
from qtaml_hw.campaign import preflight as pf
from qtaml_hw.campaign.engine import _CONTEXTS
from qtaml_hw.errors import QtamlError


def _cfg(shape=(16, 16), trials=8, batch=4, p_flip=(0.01, 0.1), plans=None, faults=None):
    doc = {"campaign": {"kind": "memory", "seed": 2, "trials": trials, "batch_trials": batch},
           "memory": {"shape": list(shape)}, "faults": faults or {"p_flip": list(p_flip)}}
    if plans is not None:
        doc["plans"] = plans
    return parse_config(doc)


@pytest.mark.parametrize("cfg", [
    load_config("examples/campaign_memory.toml"),
    _cfg(plans=[{"strategy": "uniform", "protect_msb": [0, 1, 2]}, {"strategy": "none", "mean_correction": True}]),
    _cfg(faults={"physics": {"t_ox_nm": [1.8, 2.0, 2.2], "phi_b_ev": [3.0, 3.1], "tau0_s": 1e-13, "t_s": 3600}}),
    _cfg(faults={"scrub": {"tau_s": 3600.0, "period_s": [10, 60, 600]}}),
], ids=["example", "plans", "physics", "scrub"])
def test_task_count_from_the_config_equals_the_expansion(cfg):
    assert pf.count_tasks(cfg) == len(expand_tasks(cfg))


def test_memory_kind_estimate_bounds_the_measured_peak():
    cfg = _cfg(shape=(256, 256), trials=16, batch=16, p_flip=(0.05,))
    task = expand_tasks(cfg)[0]
    _CONTEXTS.clear()
    tracemalloc.start()
    try:
        execute_chunk(task, cfg.seed, 0, 16, with_info=True)  # prepare + closed form + one full chunk
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        _CONTEXTS.clear()
    est = pf.worker_bytes(cfg) - pf.PROCESS_BYTES["memory"]
    assert peak <= est <= 3 * peak, (peak, est)


def test_disk_estimate_bounds_a_real_store(tmp_path):
    cfg = _cfg(shape=(4, 4), trials=200, batch=100, p_flip=(0.01, 0.02, 0.05, 0.1))
    out = tmp_path / "r.sqlite"
    run_campaign(cfg, out=out, workers=0, progress=False)
    used = sum(p.stat().st_size for p in tmp_path.iterdir())
    est = pf.estimate_campaign(cfg, workers=0).disk_bytes
    assert used <= est <= 3 * used, (used, est)
    assert pf.estimate_campaign(cfg, workers=0, stored_bytes=used).disk_bytes < est  # a resume adds less


def test_caps_refuse_in_one_line_and_default_to_the_machine(tmp_path):
    lim = pf.Limits.for_machine(tmp_path)
    assert lim.memory_bytes == pytest.approx(0.75 * pf.physical_memory_bytes())
    assert 0 < lim.disk_bytes <= pf.free_disk_bytes(tmp_path)[0] and lim.cores == pf.usable_cores()
    out = tmp_path / "r.sqlite"
    cases = [(_cfg(shape=(100000, 100000)), {}, "of memory"),
             (_cfg(trials=10 ** 15), {}, "of disk for 2e\\+15 trial rows"),
             (_cfg(p_flip=[i * 1e-6 for i in range(1, 101)]), {"max_tasks": 50}, "100 tasks, more than the cap of 50"),
             (_cfg(shape=(512, 512), batch=8), {"memory_gb": 0.3}, "--max-memory-gb")]
    for cfg, caps, match in cases:
        with pytest.raises(QtamlError, match=match) as info:
            run_campaign(cfg, out=out, workers=1, progress=False, limits=pf.Limits.for_machine(out, **caps))
        assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_workers_capped_at_the_cores_unless_forced(tmp_path, caplog):
    cores = pf.usable_cores()
    assert pf.check_workers(cores + 10) == cores and pf.check_workers(cores + 10, force=True) == cores + 10
    with caplog.at_level(logging.WARNING, logger="qtaml_hw.campaign.preflight"):
        _, used = pf.preflight_campaign(_cfg(), out=tmp_path / "r.sqlite", workers=cores + 10)
    assert used == cores and "capped" in caplog.text


def test_eval_estimate_refuses_absurd_trials():
    with pytest.raises(QtamlError, match="lower --trials"):
        pf.preflight_eval(n_weights=0, trials=10 ** 13, batch_trials=64, n_test=0, input_numel=0)
    est = pf.preflight_eval(n_weights=61706, trials=100, batch_trials=64, n_test=1000, input_numel=784)
    assert est.memory_bytes < 2e9
