"""`hub serve` driving a screen of 6,000 molecules on the loopback cluster, SIGKILLed in the
middle: the next `hub serve` on the catalog takes the screen over (its driver is gone) and
completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pyarrow.parquet as pq

from hub.auth import keys, users
from hub.catalog import CatalogStore
from hub.catalog.screens import ScreenStore
from tests.conftest import _free_port, settings_for
from tests.screening.screen_support import MODEL, check_results, python_env, wait_for, write_library

N = 6000  # the 20,000-molecule runs are test_screen_cluster's; this one is about the takeover


def _serve(home: Path, scheduler: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = python_env(
        HUB_HOME=str(home), HUB_DASK_SCHEDULER=scheduler, HUB_JOB_LEASE_S="5", HUB_WARM="0"
    )
    cmd = [sys.executable, "-m", "hub", "serve", "--port", str(port), "--job-workers", "0"]
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, "hub serve exited"
        try:
            return httpx.get(f"{url}/health/live", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(up, 120, 0.3)
    return proc, url


def test_serve_killed_mid_screen_then_restarted(
    screen_home: Path, loopback, tmp_path: Path
) -> None:  # noqa: ANN001
    store = CatalogStore(settings_for(screen_home).database_url)
    users.ensure_user(store, "chemist")
    headers = {"Authorization": f"Bearer {keys.create_key(store, 'chemist', 'jobs')[1]}"}
    screens = ScreenStore(store)
    lib = tmp_path / "library.smi"
    write_library(lib, N)
    a, url = _serve(screen_home, loopback.address)
    try:
        with open(lib, "rb") as fh:
            r = httpx.post(
                f"{url}/v1/screens",
                headers=headers,
                data={"model": [MODEL], "chunk_size": "500"},
                files={"file": (lib.name, fh)},
                timeout=120,
            )
        assert r.status_code == 202, r.text
        sid = r.json()["id"]
        wait_for(lambda: len(screens.chunks(sid, "keys")) >= 2, 300)
    finally:
        os.killpg(a.pid, signal.SIGKILL)
        a.wait(30)
    assert screens.get(sid).state == "running"
    b, url = _serve(screen_home, loopback.address)
    try:
        s = wait_for(lambda: (x := screens.get(sid)).finished and x, 400, 0.5)
        assert s.state == "succeeded", s
        assert s.driver != f"driver-{os.uname().nodename[:40]}-{a.pid}"  # taken over by b
        res = httpx.get(f"{url}/v1/screens/{sid}/results", headers=headers, timeout=60)
        out = tmp_path / "out.parquet"
        out.write_bytes(res.content)
        check_results(pq.read_table(out), N)
    finally:
        os.killpg(b.pid, signal.SIGTERM)
        b.wait(60)
