"""Fixtures for the job tests: a hub home with only physics.emt (built in a second), copied
fresh for each test, and helpers to run a real `hub serve` (its jobs on its embedded Dask
cluster) and look at its processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.artifacts import ArtifactStore
from hub.build import build_all
from hub.catalog import CatalogStore
from hub.catalog.jobs import JobStore
from hub.plugins import load_plugins
from tests.conftest import _free_port, settings_for


@pytest.fixture(scope="session")
def emt_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("emt-home")
    settings = settings_for(home)
    store = CatalogStore(settings.database_url)
    build_all(
        load_plugins().recipes(), store, ArtifactStore(settings.artifacts_dir), only=["physics.emt"]
    )
    store.close()
    return home


@pytest.fixture
def emt_home(emt_template: Path, tmp_path: Path) -> Path:
    """A private copy of a home with physics.emt:1 registered."""
    home = tmp_path / "home"
    shutil.copytree(emt_template, home)
    return home


def cu_cube(n: int = 3) -> dict:
    """Cu fcc, n x n x n cubic cells (4 n^3 atoms), as the JSON atoms input."""
    from ase.build import bulk

    from domains.physics.structures import atoms_to_json

    return atoms_to_json(bulk("Cu", "fcc", a=3.6, cubic=True) * (n, n, n))


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry.name))
    return out


def descendants_of(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = children_of(todo.pop())
        out += kids
        todo += kids
    return out


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(pred, timeout_s: float, what: str, every_s: float = 0.1):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout_s
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(every_s)


class Server:
    """A real `hub serve` process over ``home``; its embedded Dask cluster has one worker."""

    def __init__(
        self, home: Path, *, lease_s: float = 2.0, http_workers: int | None = None
    ) -> None:
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / f"serve-{self.port}.log"
        env = {
            **os.environ,
            "HUB_HOME": str(home),
            "HUB_WARM": "0",
            "HUB_JOB_LEASE_S": str(lease_s),
            "HUB_JOB_GRACE_S": "2",
            "HUB_DASK_WORKERS": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        env.pop("HUB_DATABASE_URL", None)
        env.pop("HUB_ARTIFACTS_DIR", None)
        env.pop("HUB_DASK_SCHEDULER", None)
        cmd = [sys.executable, "-m", "hub", "serve", "--port", str(self.port)]
        if http_workers is not None:  # one: its cluster starts with the first job, not before
            cmd += ["--workers", str(http_workers)]
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.known: set[int] = set()  # PIDs seen in its tree, killed after the test if alive

    def wait_ready(self, timeout_s: float = 180) -> Server:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"hub serve exited: {self.log()[-3000:]}")
            try:
                return httpx.get(f"{self.url}/health/live", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout_s, "hub serve to answer", every_s=0.2)
        return self

    def log(self) -> str:
        return self.log_path.read_text()

    def jobs(self) -> JobStore:
        """The catalog's jobs, read and written directly (no API key needed)."""
        return JobStore(CatalogStore(settings_for(self.home).database_url))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers a test starts; all stopped (and their process trees killed) afterwards."""
    started: list[Server] = []
    yield started
    for s in started:
        tree = set(descendants_of(s.pid)) | s.known if s.proc.poll() is None else s.known
        s.stop()
        for pid in tree:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
