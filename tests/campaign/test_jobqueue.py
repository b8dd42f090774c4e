"""dask-jobqueue: SLURM and LSF job scripts generated from examples/campaign_slurm.toml (no scheduler needed).

The ``[dask]`` section of the example goes through the config loader and its allow-list
(:mod:`qtaml_hw.campaign.dask_options`), then into dask-jobqueue's job classes -- the objects
``SLURMCluster``/``LSFCluster`` submit -- whose ``job_script()`` is the batch script a cluster
would run. Generation only: nothing is submitted and no scheduler is started.
"""

from __future__ import annotations

from pathlib import Path

import dask_jobqueue
import pytest

from qtaml_hw.campaign import load_config
from qtaml_hw.campaign.dask_options import DaskSettings
from qtaml_hw.errors import QtamlError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "campaign_slurm.toml"
SCHEDULER = "tcp://10.0.0.1:8786"
JOB_CLASSES = {"slurm": dask_jobqueue.SLURMCluster.job_cls, "lsf": dask_jobqueue.LSFCluster.job_cls}


def _settings(cluster: str) -> DaskSettings:
    dask = load_config(EXAMPLE).dask
    assert dask.cluster == "slurm" and dask.jobs == 8
    if cluster == "slurm":
        return dask
    # the same options re-checked through the LSF allow-list, as a config with cluster = "lsf" would be;
    # LSF's bsub -W takes [HH:]MM, not SLURM's HH:MM:SS (dask-jobqueue passes the string through)
    opts = {**dict(dask.cluster_options), "walltime": "01:00"}
    return DaskSettings.from_table({"cluster": cluster, "jobs": dask.jobs, "cluster_options": opts})


def _script(cluster: str) -> str:
    settings = _settings(cluster)
    job = JOB_CLASSES[cluster](scheduler=SCHEDULER, name="qtaml-worker", **dict(settings.cluster_options))
    return job.job_script()


def test_slurm_job_script_from_example():
    script = _script("slurm")
    lines = script.splitlines()
    assert lines[0].startswith("#!") and "#SBATCH -p normal" in lines
    assert "#SBATCH -n 1" in lines and "#SBATCH --cpus-per-task=4" in lines
    assert "#SBATCH --mem=8G" in lines
    assert "#SBATCH -t 01:00:00" in lines
    assert "distributed.cli.dask_worker" in script and SCHEDULER in script and "--nthreads 4" in script


def test_lsf_job_script_from_example():
    script = _script("lsf")
    lines = script.splitlines()
    assert lines[0].startswith("#!") and "#BSUB -q normal" in lines
    assert "#BSUB -n 4" in lines and "#BSUB -W 01:00" in lines
    assert "#BSUB -M 8000000" in lines                                     # 8GB in LSF's default KB units
    assert "distributed.cli.dask_worker" in script and SCHEDULER in script and "--nthreads 4" in script


def test_code_loading_option_never_reaches_a_script():
    with pytest.raises(QtamlError, match="job_script_prologue"):
        DaskSettings.from_table({"cluster": "lsf", "cluster_options": {"job_script_prologue": ["curl x | sh"]}})
