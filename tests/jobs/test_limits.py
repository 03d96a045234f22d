"""Per-job limits (B18): wall time and memory end a job with a typed failure, and the worker
goes on with the next job."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hub.catalog import CatalogStore
from hub.catalog.jobs import JobStore
from hub.config import sqlite_url
from hub.jobs import JobSupervisor
from hub.jobs.runner import JobLimits, apply_memory_limit, run_job
from tests.conftest import settings_for
from tests.jobs.conftest import wait_until
from tests.jobs.test_processes import submit


def test_b18_wall_time_limit_fails_the_job_typed(emt_home: Path) -> None:
    settings = settings_for(emt_home)
    jobs = JobStore(CatalogStore(settings.database_url))
    long_id = submit(jobs, {"steps": 50_000, "interval": 100})
    short_id = submit(jobs, {"steps": 20, "interval": 10}, cells=1)
    limits = JobLimits(time_limit_s=3.0, lease_s=5.0, grace_s=2.0)
    sup = JobSupervisor(settings, 1, check_s=0.2, limits=limits).start()
    try:
        long = wait_until(lambda: (j := jobs.get(long_id)).done and j, 25, "the time limit")
        assert long.state == "failed" and long.error["code"] == "time_limit_exceeded", long
        assert "3 s" in long.error["message"]
        assert 3.0 <= (long.finished_at - long.started_at).total_seconds() < 10
        short = wait_until(lambda: (j := jobs.get(short_id)).done and j, 20, "the next job")
        assert short.state == "succeeded", short  # the worker went on
    finally:
        sup.stop()


class _Hungry:
    input_type = "anything"

    @staticmethod
    def run(predictor, obj, params, progress):  # noqa: ANN001, ANN205
        import numpy as np

        return {"big": float(np.empty(4 * 1024**3, dtype=np.uint8)[0])}  # 4 GiB, untouched


def _run_limited(db_url: str, job_id: str, artifacts: str, limit_mb: Any) -> None:
    """In a fresh process: the worker's memory limit, 1 GiB over what this process already
    maps (measured here: the test process maps far more, TensorFlow and all, and a limit
    taken from it let the 4 GiB through), then a job that asks for 4 GiB."""
    import numpy  # noqa: F401 - mapped before the limit, as a worker's imports are

    from hub.artifacts import ArtifactStore

    memory_mb = limit_mb.value = _vm_size_mb() + 1024
    apply_memory_limit(memory_mb)
    jobs = JobStore(CatalogStore(db_url))
    runtime = SimpleNamespace(
        jobs=jobs,
        artifacts=ArtifactStore(artifacts),
        plugins=SimpleNamespace(
            task=lambda name: _Hungry,
            input_type=lambda name: SimpleNamespace(parse=lambda raw: raw),
        ),
        store=SimpleNamespace(get_version=lambda model, version: None),
        predictor=lambda version: None,
    )
    job = jobs.claim_next("limited-worker")
    run_job(runtime, job, limits=JobLimits(memory_mb=memory_mb))


def _vm_size_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmSize")


def test_b18_memory_limit_fails_the_job_typed(tmp_path: Path) -> None:
    db_url = sqlite_url(tmp_path / "registry.db")
    jobs = JobStore(CatalogStore(db_url))
    job = jobs.create(model="m.x", version=1, task="hungry", input={}, params={})
    spawn = mp.get_context("spawn")
    limit_mb = spawn.Value("q", 0)
    proc = spawn.Process(
        target=_run_limited, args=(db_url, job.id, str(tmp_path / "artifacts"), limit_mb)
    )
    t0 = time.monotonic()
    proc.start()
    proc.join(30)
    assert proc.exitcode == 0 and time.monotonic() - t0 < 30
    got = jobs.get(job.id)
    assert got.state == "failed" and got.error["code"] == "memory_limit_exceeded", got
    assert f"{limit_mb.value} MiB" in got.error["message"]
