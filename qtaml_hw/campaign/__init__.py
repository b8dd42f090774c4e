"""Fault campaigns: batched seeded trials, an append-only result store, local and Dask execution
(design.md section 7).

API: :func:`load_config` / :func:`parse_config` -> :class:`CampaignConfig`; :func:`expand_tasks`
-> :class:`Task` list with stable ids; :func:`run_campaign` executes the missing trials into a
:class:`ResultStore`; :func:`summarize` and :func:`write_report` turn a store into tables
and plots.
"""

from qtaml_hw.campaign.config import CampaignConfig, load_config, parse_config
from qtaml_hw.campaign.report import summarize, write_report
from qtaml_hw.campaign.runner import plan_chunks, run_campaign
from qtaml_hw.campaign.store import SCHEMA_VERSION, ResultStore
from qtaml_hw.campaign.tasks import TRIAL_KINDS, ChunkResult, Task, execute_chunk, expand_tasks, task_id, task_seed

__all__ = ["SCHEMA_VERSION", "TRIAL_KINDS", "CampaignConfig", "ChunkResult", "ResultStore", "Task", "execute_chunk",
           "expand_tasks", "load_config", "parse_config", "plan_chunks", "run_campaign", "summarize", "task_id",
           "task_seed", "write_report"]
