"""Long tasks as persisted jobs, run by worker processes (see :mod:`hub.jobs.runner`)."""

from hub.jobs.runner import (
    Cancelled,
    JobLimits,
    JobSupervisor,
    run_job,
    submit_job,
    worker_main,
)

__all__ = ["Cancelled", "JobLimits", "JobSupervisor", "run_job", "submit_job", "worker_main"]
