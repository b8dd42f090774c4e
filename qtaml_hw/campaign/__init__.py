"""Fault campaigns and every other experiment of the project, on one engine (design.md section 7).

API: :func:`load_config` / :func:`parse_config` -> :class:`CampaignConfig`; :func:`expand_tasks`
-> :class:`Task` list with stable ids and stopping questions; :func:`run_campaign` /
:func:`run_tasks` execute the missing trials into a :class:`ResultStore` until each task is
decided; :func:`summarize` and :func:`write_report` turn a store into tables and plots.
New experiments are task kinds (:mod:`qtaml_hw.campaign.kinds`, docs/campaign.md).
"""

from qtaml_hw.campaign.config import CampaignConfig, load_config, parse_config
from qtaml_hw.campaign.engine import ChunkResult, execute_chunk
from qtaml_hw.campaign.expand import expand_tasks
from qtaml_hw.campaign.kinds import Task, TaskKind, get_kind, make_task, register, task_id, task_seed
from qtaml_hw.campaign.report import summarize, write_report
from qtaml_hw.campaign.runner import run_campaign, run_tasks
from qtaml_hw.campaign.stopping import Decision, Stopping
from qtaml_hw.campaign.store import SCHEMA_VERSION, ResultStore

__all__ = ["SCHEMA_VERSION", "CampaignConfig", "ChunkResult", "Decision", "ResultStore", "Stopping", "Task",
           "TaskKind", "execute_chunk", "expand_tasks", "get_kind", "load_config", "make_task", "parse_config",
           "register", "run_campaign", "run_tasks", "summarize", "task_id", "task_seed", "write_report"]
