"""Screens on a real cluster of processes: a scheduler and two workers started on loopback by
the test, and the embedded LocalCluster. 20,000 molecules with every row accounted for; a
worker SIGKILLed mid-screen; the hub SIGKILLed mid-screen and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hub.artifacts import ArtifactStore
from hub.catalog import CatalogStore
from hub.catalog.screens import ScreenStore
from tests.conftest import settings_for
from tests.screening.screen_support import (
    MODEL,
    check_results,
    python_env,
    wait_for,
    write_library,
)

N = 20_000
CHUNK = 1000
BACKENDS = ["loopback", "embedded"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest):  # noqa: ANN201
    """(name, settings changes, CLI options, cluster or None) of one kind of cluster."""
    if request.param == "loopback":
        cluster = request.getfixturevalue("loopback")
        return (
            "loopback",
            {"dask_scheduler": cluster.address},
            ["--scheduler", cluster.address],
            cluster,
        )
    request.getfixturevalue("embedded")
    return "embedded", {"dask_workers": 2}, ["--workers", "2"], None


def _chunks_once(store: ScreenStore, sid: str, rows: int, unique: int) -> None:
    """Every chunk of every phase recorded exactly once (the table's key makes a second
    record impossible: here we check none is missing)."""
    n_in, n_uniq = -(-rows // CHUNK), -(-unique // CHUNK)
    assert sorted(store.chunks(sid, "in")) == list(range(n_in))
    assert sorted(store.chunks(sid, "keys")) == list(range(n_in))
    assert sorted(store.chunks(sid, "uniq")) == list(range(n_uniq))
    assert sorted(store.chunks(sid, "scores")) == list(range(n_uniq))
    assert sum(n for _, n in store.chunks(sid, "keys").values()) == rows
    assert sum(n for _, n in store.chunks(sid, "scores").values()) == unique


def _result(home: Path, screen) -> object:  # noqa: ANN001
    arts = ArtifactStore(settings_for(home).artifacts_dir)
    return pq.read_table(arts.open_verified(screen.result_sha256))


def _worker_pids(cli_pid: int) -> list[int]:
    """The embedded cluster's worker processes: the hub's descendants running a worker."""
    from tests.jobs.conftest import descendants_of

    out = []
    for pid in descendants_of(cli_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
            out.append(pid)
    return out


def test_20000_molecules_worker_and_hub_killed(backend, screen_home: Path, tmp_path: Path) -> None:  # noqa: ANN001
    """``hub screen`` of 20,000 molecules: one worker SIGKILLed in the middle (its chunks run
    again elsewhere), then the hub itself SIGKILLed; the same command again resumes the same
    screen (chunks already done are not redone) and completes with every row accounted for,
    each chunk recorded once."""
    _name, _, options, cluster = backend
    lib = tmp_path / "library.smi"
    write_library(lib, N, extra=["not a smiles", "C1CC", "[Xx]"])
    out = tmp_path / "scores.parquet"
    cmd = [sys.executable, "-m", "hub", "screen", str(lib), "-m", MODEL, "-o", str(out)]
    cmd += ["--chunk", str(CHUNK), *options]
    env = python_env(HUB_HOME=str(screen_home), HUB_JOB_LEASE_S="10")
    first = subprocess.Popen(cmd, env=env, start_new_session=True, stderr=subprocess.PIPE)
    store = ScreenStore(CatalogStore(settings_for(screen_home).database_url))
    sid = wait_for(lambda: next((s.id for s in store.list()), None), 180)

    def keys_done(n: int) -> None:
        wait_for(lambda: len(store.chunks(sid, "keys")) >= n or first.poll() is not None, 300)
        assert first.poll() is None, first.stderr.read().decode()[-2000:]

    keys_done(2)
    if cluster is not None:
        cluster.kill_one()
    else:
        os.kill(_worker_pids(first.pid)[-1], signal.SIGKILL)  # its nanny starts another
    seen = len(store.chunks(sid, "keys"))
    keys_done(seen + 2)  # the screen goes on without that worker
    os.killpg(first.pid, signal.SIGKILL)  # the hub and whatever it started
    first.wait(30)
    done_before = set(store.chunks(sid, "keys"))
    assert store.get(sid).state == "running" and len(done_before) < -(-N // CHUNK)
    second = subprocess.run(cmd, env=env, capture_output=True, timeout=600)
    assert second.returncode == 0, second.stderr.decode()[-3000:]
    s = store.get(sid)
    assert [x.id for x in store.list()] == [sid]  # resumed, not started again
    assert s.state == "succeeded" and s.rows == N + 3
    table = pq.read_table(out)
    check_results(table, N + 3)
    assert table.column("error").to_pylist()[N:] == ["invalid_smiles"] * 3
    assert table.column(f"{MODEL}.value").null_count == 3
    _chunks_once(store, sid, N + 3, s.unique)
    assert done_before <= set(store.chunks(sid, "keys"))
    if cluster is not None:
        cluster.add_worker(f"w-after-{os.getpid()}-{len(cluster.procs)}")
        cluster.wait_workers(2)
