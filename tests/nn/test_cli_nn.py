"""`qtaml-hw train` / `qtaml-hw eval` end to end and their one-line errors (design.md section 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_eval_json(cli):
    code, out, err = cli("eval", "--model", "lenet5", "--p-flip", "0.01", "--trials", "4", "--test-subset", "100",
                         "--seed", "0", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["trials"] == 4 and len(res["accuracy"]) == 4 and res["n_test"] == 100
    assert res["faulty_accuracy_ci95"][0] <= res["faulty_accuracy_mean"] <= res["faulty_accuracy_ci95"][1]
    assert abs(res["float_accuracy"] - res["clean_quantized_accuracy"]) <= 0.02
    assert res["faulty_accuracy_mean"] < res["clean_quantized_accuracy"]


def test_eval_text_and_protection(cli):
    code, out, _ = cli("eval", "--model", "lenet5", "--p-flip", "0.2", "--trials", "2", "--test-subset", "50", "--engine", "vmap",
                       "--protect-msb", "8")
    assert code == 0
    lines = {line[:26].strip(): line[26:].split()[0] for line in out.splitlines()[1:]}
    assert lines["clean quantized accuracy"] == lines["faulty accuracy"]  # all bits protected


@pytest.mark.parametrize("argv,needle", [
    (["--model", "alexnet", "--p-flip", "0.1"], "unknown model"),
    (["--model", "/nonexistent/x.safetensors", "--p-flip", "0.1"], "does not exist"),
    (["--model", "lenet5", "--p-flip", "1.5"], "probability"),
    (["--model", "lenet5", "--p-flip", "-0.1"], "probability"),
    (["--model", "lenet5", "--p-flip", "0.1", "--trials", "0"], "positive integer"),
    (["--model", "lenet5", "--p-flip", "0.1", "--protect-msb", "9"], "exceeds"),
    (["--model", "lenet5", "--p-flip", "0.1", "--code", "gray"], "unknown code"),
])
def test_eval_bad_input_one_line_exit_2(cli, argv, needle):
    code, out, err = cli("eval", *argv, "--trials", "1", "--test-subset", "10") if "--trials" not in argv else \
        cli("eval", *argv, "--test-subset", "10")
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out == ""


@pytest.mark.integration
def test_train_smoke_then_eval_user_checkpoint(cli, tmp_path):
    code, out, err = cli("train", "--model", "lenet5", "--dataset", "digits", "--epochs", "6",
                         "--train-subset", "1000", "--out", str(tmp_path), "--json")
    assert code == 0, err
    res = json.loads(out)["models"][0]
    assert res["model"] == "lenet5" and res["float_acc"] > 0.6
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["models"]["lenet5"]["dataset"] == "digits"
    code, out, err = cli("eval", "--model", str(tmp_path / "lenet5.safetensors"), "--p-flip", "0.001",
                         "--trials", "3", "--json")
    assert code == 0, err
    assert json.loads(out)["n_test"] == 360


def test_train_bad_input(cli, tmp_path):
    code, _, err = cli("train", "--model", "alexnet", "--out", str(tmp_path))
    assert code == 2 and "unknown model" in err
    code, _, err = cli("train", "--out", str(tmp_path))
    assert code == 2 and "--all" in err
    code, _, err = cli("train", "--model", "lenet5", "--dataset", "cifar", "--out", str(tmp_path))
    assert code == 2 and "unknown dataset" in err
    assert not (tmp_path / "manifest.json").exists()


def test_top_level_help_lists_train_and_eval(cli):
    code, out, _ = cli("--help")
    assert code == 0 and "train" in out and "eval" in out


@pytest.mark.integration
def test_finetune_from_reference_dir_with_sgd_records_the_recipe(cli, tmp_path):
    """--reference-dir reads the reference elsewhere (models/), --optimizer/--lr land in the manifest."""
    models = Path(__file__).resolve().parents[2] / "models"
    code, out, err = cli("train", "--model", "lenet5", "--method", "standard", "--finetune", "--optimizer", "sgd",
                         "--lr", "0.01", "--epochs", "1", "--train-subset", "256", "--reference-dir", str(models),
                         "--out", str(tmp_path), "--json")
    assert code == 0, err
    entry = json.loads((tmp_path / "manifest.json").read_text())["models"]["lenet5_standard"]
    assert entry["train"]["optimizer"] == "SGD(momentum 0.9)+OneCycle" and entry["train"]["lr"] == 0.01
    assert not (tmp_path / "lenet5.safetensors").exists()  # the reference was read, not copied or retrained
    code, _, err = cli("train", "--model", "lenet5", "--method", "hessian", "--reference-dir", str(tmp_path / "none"),
                       "--out", str(tmp_path / "o"))
    assert code == 2 and "no reference checkpoint 'lenet5'" in err and len(err.strip().splitlines()) == 1
