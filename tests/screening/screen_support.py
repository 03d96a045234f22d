"""Helpers of the screening tests (tests/screening, tests/dask): a hub home with a quick
chemistry.solubility (built once per session), libraries of real SMILES, a Dask cluster of
real processes on loopback, and checks of a screen's results."""

from __future__ import annotations

import csv
import gzip
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import _free_port, settings_for

DATA = Path(__file__).resolve().parents[2] / "domains" / "chemistry" / "data"
MODEL = "chemistry.solubility"


def esol_smiles() -> list[str]:
    with gzip.open(DATA / "ESOL.csv.gz", "rt", encoding="utf-8") as fh:
        return [r["smiles"] for r in csv.DictReader(fh)]


def build_template(base: Path) -> Path:
    """A home with a quick chemistry.solubility (two members, three epochs), built once per
    session under ``base`` (a marker file says it is complete)."""
    home = base / "screen-template"
    if (home / ".built").exists():
        return home
    from hub.artifacts import ArtifactStore
    from hub.build import build_all
    from hub.catalog import CatalogStore
    from hub.plugins import load_plugins

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    settings = settings_for(home)
    store = CatalogStore(settings.database_url)
    build_all(
        load_plugins().recipes(),
        store,
        ArtifactStore(settings.artifacts_dir),
        only=[MODEL],
        quick=True,
        overrides={MODEL: {"epochs": 3, "members": 2}},
    )
    store.close()
    (home / ".built").write_text("ok")
    return home


def copy_home(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, ignore=shutil.ignore_patterns(".built"))
    return dest


def write_library(path: Path, n: int, *, extra: list[str] = ()) -> list[str]:
    """``n`` SMILES of ESOL's 1,128 molecules, each written in random atom orders (RDKit's
    random SMILES, seeded): distinct strings, so that each must be parsed, which deduplicate
    to about 1,128 keys; then ``extra``, one per line."""
    from rdkit import Chem

    mols = [Chem.MolFromSmiles(s) for s in esol_smiles()]
    per = -(-n // len(mols))
    variants = [list(Chem.MolToRandomSmilesVect(m, per, randomSeed=7)) for m in mols]
    rows = [variants[i % len(mols)][i // len(mols)] for i in range(n)] + list(extra)
    path.write_text("\n".join(rows) + "\n")
    return rows


def check_results(table, n: int) -> None:  # noqa: ANN001 - a pyarrow table
    """Every input is one row, in order, exactly once."""
    assert table.num_rows == n
    assert table.column("row").to_pylist() == list(range(n))


def python_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    env.update(extra)
    return env


class LoopbackCluster:
    """``dask scheduler`` and ``n`` ``dask worker`` processes (no nanny: killing a worker's
    pid kills the worker), on 127.0.0.1, each worker with the hub preloaded."""

    def __init__(self, n: int = 2, log_dir: Path | None = None) -> None:
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}
        dask = str(Path(sys.executable).with_name("dask"))
        self.procs["scheduler"] = self._spawn(
            "scheduler",
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"],
        )
        for i in range(n):
            self.add_worker(f"w{i}")

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        out = open(self.log_dir / f"{name}.log", "wb") if self.log_dir else subprocess.DEVNULL
        return subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=python_env(), start_new_session=True
        )

    def add_worker(self, name: str) -> None:
        dask = str(Path(sys.executable).with_name("dask"))
        self.procs[name] = self._spawn(
            name,
            [
                dask,
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--name",
                name,
                "--preload",
                "hub.engine.preload",
                "--no-dashboard",
            ],
        )

    def wait_workers(self, n: int, timeout_s: float = 180) -> None:
        from distributed import Client

        with Client(self.address, timeout=60) as c:
            c.wait_for_workers(n, timeout=timeout_s)

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)

    def kill_one(self) -> str:
        """SIGKILL one worker (the newest); returns its name."""
        name = [n for n in self.procs if n != "scheduler"][-1]
        self.kill(name)
        return name

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                pass


def wait_for(predicate, timeout_s: float = 120, every_s: float = 0.2):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s} s")


def run_inline(settings, screen_id: str) -> None:  # noqa: ANN001 - hub Settings
    """Run a screen's phases in this process, in order, without Dask (the tasks are plain
    functions): for quick tests of what the workers compute."""
    from hub.catalog import CatalogStore
    from hub.catalog.screens import ScreenStore
    from hub.screening import tasks

    _, n_in = tasks.prepare(settings, screen_id)
    for k in range(n_in):
        tasks.keys(settings, screen_id, k)
    _, n_uniq = tasks.dedupe(settings, screen_id, n_in)
    for j in range(n_uniq):
        tasks.score(settings, screen_id, j)
    sha = tasks.assemble(settings, screen_id, n_in, n_uniq)
    store = CatalogStore(settings.database_url)
    ScreenStore(store).finish(screen_id, "succeeded", result_sha256=sha)
    store.close()


def worker_running(cluster: LoopbackCluster, key: str, timeout_s: float = 60) -> str:
    """The name of the loopback worker running the Dask task ``key``."""
    from distributed import Client

    with Client(cluster.address, timeout=60) as c:

        def find() -> str | None:
            info = c.scheduler_info()["workers"]
            for addr, keys in c.processing().items():
                if key in keys:
                    return info[addr]["name"]
            return None

        return wait_for(find, timeout_s, 0.2)
