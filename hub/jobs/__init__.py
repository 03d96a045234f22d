"""Long tasks as persisted jobs, run on the hub's Dask cluster (see :mod:`hub.jobs.runner`
and :mod:`hub.jobs.dask_runner`)."""

from hub.jobs.dask_runner import JobDispatcher
from hub.jobs.runner import Cancelled, JobLimits, run_job, submit_job

__all__ = ["Cancelled", "JobDispatcher", "JobLimits", "run_job", "submit_job"]
