"""Long tasks as persisted jobs, run by worker processes (see :mod:`hub.jobs.runner`)."""

from hub.jobs.runner import Cancelled, JobSupervisor, run_job, submit_job, worker_main

__all__ = ["Cancelled", "JobSupervisor", "run_job", "submit_job", "worker_main"]
