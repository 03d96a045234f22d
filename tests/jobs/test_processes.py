"""A real `hub serve` with a job running on its embedded Dask cluster, stopped by kill -9,
SIGTERM or SIGINT, and a second server on the same catalog: no orphan process (the cluster's
workers die with the hub), the job finished or re-run, never failed while its worker runs,
its result kept."""

from __future__ import annotations

import functools
import os
import signal
import time
from pathlib import Path

import orjson
import pytest

from hub.artifacts import ArtifactStore
from hub.catalog import CatalogStore
from hub.catalog.jobs import JobStore
from hub.entities import Job
from tests.conftest import settings_for
from tests.jobs.conftest import Server, alive, cu_cube, descendants_of, wait_until

LONG_MD = {"steps": 50_000, "interval": 100}  # minutes of EMT MD on 32 atoms


def submit(jobs: JobStore, params: dict, cells: int = 3) -> str:
    """Queue an MD job straight in the catalog (the API's keys are not the point here)."""
    checked = md_task().check_params(params)
    return jobs.create(
        model="physics.emt", version=1, task="md", input=cu_cube(cells), params=checked
    ).id


@functools.cache
def md_task():  # noqa: ANN201
    from hub.plugins import load_plugins

    return load_plugins().task("md")


def running(jobs: JobStore, job_id: str) -> Job:
    """The job once it runs and reported progress (the hub's cluster starts first)."""
    return wait_until(
        lambda: (j := jobs.get(job_id)).state == "running" and j.step > 0 and j,
        120,
        "the job to run",
    )


def finished(jobs: JobStore, job_id: str, timeout_s: float = 25) -> Job:
    return wait_until(lambda: (j := jobs.get(job_id)).done and j, timeout_s, "the job to end")


def jobs_at(home: Path) -> JobStore:
    return JobStore(CatalogStore(settings_for(home).database_url))


def _cluster_started(server: Server) -> list[int]:
    """The processes `hub serve` started (its embedded cluster's worker, the HTTP workers,
    multiprocessing's resource tracker), remembered for the clean-up after the test."""
    tree = descendants_of(server.pid)
    server.known |= set(tree)
    return tree


def test_b19_kill_9_leaves_no_orphan_and_the_job_runs_again(emt_home: Path, servers) -> None:  # noqa: ANN001
    jobs = jobs_at(emt_home)
    job_id = submit(jobs, {"steps": 600, "interval": 20}, cells=2)  # a few seconds
    a = Server(emt_home)
    servers.append(a)
    first = running(jobs, job_id)  # a Dask worker of A's embedded cluster runs it
    assert first.worker.startswith("dask-"), first
    tree = _cluster_started(a)
    assert len(tree) >= 2, tree
    os.kill(a.pid, signal.SIGKILL)
    a.proc.wait(5)
    # each child notices within seconds (hub.lifeline, Dask's own watch); one that was still
    # starting (importing) when the server died notices once it gets to its first check
    wait_until(lambda: not any(alive(p) for p in tree), 30, f"orphans {tree} to exit")
    before = jobs.get(job_id)  # still leased by the dead worker (or finished just before)
    assert before.state in ("running", "succeeded"), before
    b = Server(emt_home)
    servers.append(b)
    job = finished(jobs, job_id, timeout_s=120)
    assert job.state == "succeeded", job
    if before.state == "running":  # re-queued once its lease expired, then run again by B
        assert job.worker != first.worker and job.worker.startswith("dask-"), job
    result = orjson.loads(ArtifactStore(emt_home / "artifacts").read(job.result_sha256))
    assert result["frames"] == 31 and len(result["energies"]["total"]) == 31  # 0, 20, ..., 600


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_b20_signal_stops_serve_cleanly_and_gives_the_job_back(
    emt_home: Path,
    servers,  # noqa: ANN001
    sig: int,
) -> None:
    jobs = jobs_at(emt_home)
    job_id = submit(jobs, LONG_MD, cells=2)
    a = Server(emt_home)
    servers.append(a)
    running(jobs, job_id)
    a.wait_ready()  # uvicorn handles the signal: the path that orphaned workers (B20)
    tree = _cluster_started(a)
    assert len(tree) >= 2, tree
    t0 = time.monotonic()
    a.proc.send_signal(sig)
    code = a.proc.wait(30)
    stop_s = time.monotonic() - t0
    assert code == -sig, (code, a.log()[-2000:])  # ended as the signal would have ended it
    wait_until(lambda: not any(alive(p) for p in tree), 5, f"{tree} to exit")
    job = jobs.get(job_id)
    assert job.state == "queued" and job.lost_attempts == 0, job  # re-run by the next server
    assert "re-queued" in job.message
    assert stop_s < 20, stop_s


def test_b21_second_server_leaves_the_first_ones_job_alone(emt_home: Path, servers) -> None:  # noqa: ANN001
    jobs = jobs_at(emt_home)
    job_id = submit(jobs, LONG_MD, cells=2)
    a = Server(emt_home, lease_s=2)
    servers.append(a)
    first = running(jobs, job_id)
    b = Server(emt_home, lease_s=2, http_workers=1)
    servers.append(b)
    b.wait_ready()
    time.sleep(4.5)  # two leases: B's dispatcher has looked for lost jobs several times
    job = jobs.get(job_id)
    assert job.state == "running" and job.worker == first.worker, job
    assert job.lost_attempts == 0
    assert job.step > first.step  # A's worker still runs it
    jobs.cancel(job_id)
    assert finished(jobs, job_id, 15).state == "cancelled"


def test_b30_native_signal_handler_changes_are_visible() -> None:
    """B30 was not reproduced; `hub serve` now reports a C-level SIGINT/SIGTERM handler
    replaced under it. The probe it uses sees such a change."""
    from hub.cli import _c_signal_handler

    before = _c_signal_handler(signal.SIGINT)
    assert before not in (None, 0, 1)  # Python's own C handler
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)  # what a native library might do
    try:
        assert _c_signal_handler(signal.SIGINT) == 1  # SIG_IGN
    finally:
        signal.signal(signal.SIGINT, old)
    assert _c_signal_handler(signal.SIGINT) == before
