"""Per-job limits (B18) on the Dask workers: wall time and memory end a job with a typed
failure, and the worker goes on with the next job; a task that never reports progress is
stopped by its lease (its worker process ends, its nanny starts another)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import WorkerPlugin

from hub.catalog import CatalogStore
from hub.catalog.jobs import JobStore
from hub.jobs import JobDispatcher, JobLimits
from hub.memlimit import address_space_mb, memory_limit
from tests.conftest import settings_for
from tests.jobs.conftest import cu_cube, wait_until
from tests.jobs.test_processes import submit


def _hungry(predictor: Any, obj: Any, params: dict, progress: Any) -> dict:
    """A task that asks for 4 GiB at once (untouched: only its address space counts)."""
    import numpy as np

    progress(0, 1, "allocating")
    return {"big": float(np.empty(4 * 1024**3, dtype=np.uint8)[0])}


def _silent(predictor: Any, obj: Any, params: dict, progress: Any) -> dict:
    """A task that runs for a minute without reporting progress (a stuck engine)."""
    time.sleep(60)
    return {"slept": 60}


class ExtraTasks(WorkerPlugin):
    """Adds the test tasks to the plugins of every worker of the cluster (the registry the
    workers' runtimes use), those started later by a nanny too."""

    name = "hub-test-tasks"

    def setup(self, worker: Any) -> None:
        from hub.plugins import Task, load_plugins

        registry = load_plugins()
        for name, run in (("test-hungry", _hungry), ("test-silent", _silent)):
            task = Task(name=name, input_type="atoms", description="", run=run)
            registry._by["task"][name] = task


@pytest.fixture(scope="module")
def extra_tasks(dask_engine: None, emt_template: Path) -> None:
    """The test tasks on every worker of the session's embedded cluster, now and later."""
    from hub import engine

    engine.client(settings_for(emt_template)).register_plugin(ExtraTasks())


@pytest.fixture
def dispatch(emt_home: Path, extra_tasks: None) -> Iterator[Any]:
    """Start a dispatcher over ``emt_home`` with the given limits, on the session's embedded
    cluster; all stopped after the test."""
    started: list[JobDispatcher] = []

    def start(limits: JobLimits) -> JobDispatcher:
        d = JobDispatcher(settings_for(emt_home), limits=limits, check_s=0.2)
        started.append(d.start())
        return d

    yield start
    for d in started:
        d.stop()


def _jobs(home: Path) -> JobStore:
    return JobStore(CatalogStore(settings_for(home).database_url))


def _job_of(jobs: JobStore, task: str) -> str:
    return jobs.create(model="physics.emt", version=1, task=task, input=cu_cube(1), params={}).id


def _done(jobs: JobStore, job_id: str, timeout_s: float = 120):  # noqa: ANN202
    return wait_until(lambda: (j := jobs.get(job_id)).done and j, timeout_s, "the job to end")


def test_b18_wall_time_limit_fails_the_job_typed(emt_home: Path, dispatch) -> None:  # noqa: ANN001
    jobs = _jobs(emt_home)
    long_id = submit(jobs, {"steps": 19_000, "interval": 20})  # minutes
    # the task reports progress: it stops itself at its next report (grace_s is for those
    # that do not, below)
    strict = dispatch(JobLimits(time_limit_s=3.0, lease_s=5.0, grace_s=120.0))
    long = _done(jobs, long_id)
    assert long.state == "failed" and long.error["code"] == "time_limit_exceeded", long
    assert "3 s" in long.error["message"]
    assert 3.0 <= (long.finished_at - long.started_at).total_seconds() < 60
    strict.stop()
    dispatch(JobLimits(lease_s=5.0))
    short_id = submit(jobs, {"steps": 20, "interval": 10}, cells=1)
    short = _done(jobs, short_id)
    assert short.state == "succeeded", short  # the workers went on


def test_b18_silent_task_past_its_time_limit_is_stopped(emt_home: Path, dispatch) -> None:  # noqa: ANN001
    jobs = _jobs(emt_home)
    silent_id = _job_of(jobs, "test-silent")
    strict = dispatch(JobLimits(time_limit_s=2.0, lease_s=3.0, grace_s=1.0))
    silent = _done(jobs, silent_id, 60)
    assert silent.state == "failed" and silent.error["code"] == "time_limit_exceeded", silent
    assert (silent.finished_at - silent.started_at).total_seconds() < 30  # not the 60 s
    strict.stop()
    dispatch(JobLimits(lease_s=5.0))
    after_id = submit(jobs, {"steps": 20, "interval": 10}, cells=1)
    after = _done(jobs, after_id)
    assert after.state == "succeeded", after  # the cluster goes on (a new worker took over)


def test_b18_memory_limit_fails_the_job_typed(emt_home: Path, dispatch) -> None:  # noqa: ANN001
    jobs = _jobs(emt_home)
    hungry_id = _job_of(jobs, "test-hungry")
    limited = dispatch(JobLimits(memory_mb=1024, lease_s=5.0))
    got = _done(jobs, hungry_id)
    assert got.state == "failed" and got.error["code"] == "memory_limit_exceeded", got
    assert "1024 MiB" in got.error["message"]
    assert got.lost_attempts == 0  # failed once, typed: not a worker lost and re-run
    limited.stop()
    dispatch(JobLimits(lease_s=5.0))
    after_id = submit(jobs, {"steps": 20, "interval": 10}, cells=1)
    after = _done(jobs, after_id)
    assert after.state == "succeeded", after  # the limit went with the job


def test_memory_limit_is_the_address_space_now_plus_the_budget() -> None:
    import numpy as np

    before = address_space_mb()
    with memory_limit(512) as cap:
        assert before <= cap - 512 <= before + 64
        with pytest.raises(MemoryError):
            np.empty(2 * 1024**3, dtype=np.uint8)
        small = np.ones(16 * 1024**2, dtype=np.uint8)  # within the budget
    assert small.sum() == 16 * 1024**2
    np.empty(2 * 1024**3, dtype=np.uint8)  # the limit is gone with the block
    with memory_limit(0) as cap:
        assert cap == 0
