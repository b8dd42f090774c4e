"""headline_diag: the keep-rate / accuracy-ratio decomposition on LeNet-5 at the two ends of the budget range."""

import pytest

from qtaml_hw.campaign.headline import HeadlineConfig, Setup
from qtaml_hw.campaign.headline_diag import decompose


@pytest.mark.slow
def test_decompose_full_protection_keeps_everything_and_none_loses():
    cfg = HeadlineConfig(models=("lenet5",), test_subset=40, calib_samples=16, probes=1, predict_samples=16,
                         first_order=False, read_ablation=False, strategies=("uniform", "tac"))
    st = Setup(cfg, "lenet5", "symmetric", seed=0)
    full, none = decompose(st, 40, "uniform", [8.0, 0.0], draws=2)
    assert full["bpw"] == pytest.approx(8.0)
    assert full["keep_calib"] == full["keep_test"] == full["acc_ratio_test"] == 1.0  # nothing can flip
    assert none["bpw"] == 0.0
    assert none["keep_calib"] < 0.5 and none["keep_test"] < 0.5 and none["acc_ratio_test"] < 0.5  # p = 0.1, no ECC
