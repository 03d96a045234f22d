"""Training models from users' tables (issue 15, "Train from data"): ``hub.train``,
``hub train`` and ``POST /v1/models/{name}/train``.

- :mod:`hub.training.table`  the CSV read, checked and deduplicated into a
  :class:`~hub.plugins.TrainingTable`, with the report of every row left out or merged
- :mod:`hub.training.jobs`   submission (all checks before a job is queued) and the job's run:
  the input type's :class:`~hub.plugins.Trainer`, then the same registration as ``hub build``
- :mod:`hub.training.local`  :func:`train`, the Python API on the local catalog

Domain-free: the trainers come from the plugins (chemistry's ``chemistry.property``), and they
train with the hub's pipeline, :mod:`hub.learning`.
"""

from hub.training.jobs import TrainingRequest, run_training_job, submit_training
from hub.training.local import train
from hub.training.table import MIN_ROWS, DataReport, build_table

__all__ = [
    "MIN_ROWS",
    "DataReport",
    "TrainingRequest",
    "build_table",
    "run_training_job",
    "submit_training",
    "train",
]
