"""Jobs on Dask (hub.jobs.dask_runner) on a real cluster started on loopback: a job runs and
its result is kept; a job whose worker is SIGKILLed is re-run, and failed with
``worker_lost`` once it lost too many workers (never stuck ``running``); a restarted hub
leaves a job whose worker still renews its lease alone."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from hub.artifacts import ArtifactStore
from hub.catalog import CatalogStore
from hub.catalog.jobs import JobStore
from hub.jobs.dask_runner import JobDispatcher
from hub.jobs.runner import JobLimits
from tests.conftest import settings_for
from tests.jobs.conftest import cu_cube
from tests.screening.screen_support import wait_for, worker_running

LIMITS = JobLimits(lease_s=2.0, max_attempts=2, grace_s=2.0)


def _submit(jobs: JobStore, steps: int, interval: int = 20) -> str:
    from hub.plugins import load_plugins

    params = load_plugins().task("md").check_params({"steps": steps, "interval": interval})
    return jobs.create(
        model="physics.emt", version=1, task="md", input=cu_cube(2), params=params
    ).id


def _dispatcher(home: Path, cluster) -> JobDispatcher:  # noqa: ANN001
    settings = settings_for(home, dask_scheduler=cluster.address)
    return JobDispatcher(settings, limits=LIMITS, check_s=0.2).start()


def test_job_runs_on_the_cluster(emt_home: Path, loopback) -> None:  # noqa: ANN001
    jobs = JobStore(CatalogStore(settings_for(emt_home).database_url))
    job_id = _submit(jobs, 200)
    d = _dispatcher(emt_home, loopback)
    try:
        job = wait_for(lambda: (j := jobs.get(job_id)).done and j, 120)
    finally:
        d.stop(give_back=False)
    assert job.state == "succeeded" and job.worker.startswith("dask-"), job
    result = orjson.loads(ArtifactStore(emt_home / "artifacts").read(job.result_sha256))
    assert result["frames"] == 11


def test_killed_workers_rerun_then_fail_the_job(emt_home: Path, loopback) -> None:  # noqa: ANN001
    jobs = JobStore(CatalogStore(settings_for(emt_home).database_url))
    job_id = _submit(jobs, 50_000, 100)  # minutes: it never ends by itself here
    d = _dispatcher(emt_home, loopback)
    try:
        first = wait_for(lambda: (j := jobs.get(job_id)).state == "running" and j.step > 0 and j)
        loopback.kill(worker_running(loopback, f"hub-job-{first.worker}"))
        again = wait_for(
            lambda: (
                (j := jobs.get(job_id)).state == "running"
                and j.worker != first.worker
                and j.step > 0
                and j
            ),
            120,
        )
        assert again.lost_attempts == 1  # re-queued once by its lease, run again elsewhere
        loopback.kill(worker_running(loopback, f"hub-job-{again.worker}"))
        failed = wait_for(lambda: (j := jobs.get(job_id)).done and j, 60)
        assert failed.state == "failed" and failed.error["code"] == "worker_lost", failed
        assert failed.error["attempts"] == 2
    finally:
        d.stop(give_back=False)
        for name in ("wj1", "wj2"):
            loopback.add_worker(name)
        loopback.wait_workers(2)


def test_restarted_hub_leaves_live_jobs_alone(emt_home: Path, loopback) -> None:  # noqa: ANN001
    jobs = JobStore(CatalogStore(settings_for(emt_home).database_url))
    job_id = _submit(jobs, 50_000, 100)
    a = _dispatcher(emt_home, loopback)
    first = wait_for(lambda: (j := jobs.get(job_id)).state == "running" and j.step > 0 and j)
    a.stop(give_back=False)  # the hub goes away; its task runs on in the cluster
    b = _dispatcher(emt_home, loopback)
    try:
        time.sleep(3 * LIMITS.lease_s)  # B looked for lost jobs several times
        job = jobs.get(job_id)
        assert job.state == "running" and job.worker == first.worker, job
        assert job.lost_attempts == 0 and job.step > first.step
        jobs.cancel(job_id)
        assert wait_for(lambda: (j := jobs.get(job_id)).done and j, 30).state == "cancelled"
    finally:
        b.stop(give_back=False)
