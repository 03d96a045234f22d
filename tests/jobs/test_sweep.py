"""B25: what killed builds and lost job results leave behind is swept, never a build or a
job in progress."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from hub.artifacts import ArtifactStore
from hub.build import referenced_artifacts, sweep_build_dirs
from hub.catalog import CatalogStore
from hub.catalog.jobs import JobStore
from tests.conftest import settings_for


def _make_old(path: Path, age_s: float) -> None:
    t = time.time() - age_s
    os.utime(path, (t, t))


def test_b25_orphan_artifacts_are_swept_after_a_grace_period(emt_home: Path) -> None:
    settings = settings_for(emt_home)
    store = CatalogStore(settings.database_url)
    arts = ArtifactStore(settings.artifacts_dir)
    jobs = JobStore(store)
    kept_result = arts.put_bytes(b'{"a job": "result"}')
    job = jobs.create(model="physics.emt", version=1, task="md", input={}, params={})
    jobs.claim_next("w")
    jobs.finish(job.id, "succeeded", result_sha256=kept_result, worker="w")
    old_orphan = arts.put_bytes(b"stored by a build killed before it registered")
    new_orphan = arts.put_bytes(b"stored a moment ago by a build in progress")
    for sha in (kept_result, old_orphan, *store.get_version("physics.emt", 1).artifacts.values()):
        _make_old(arts.path(sha), 7 * 3600)
    size = arts.path(old_orphan).stat().st_size
    refs = referenced_artifacts(store)
    assert kept_result in refs and old_orphan not in refs
    assert arts.sweep_orphans(refs, older_than_s=6 * 3600) == (1, size)
    assert not arts.exists(old_orphan)
    assert arts.exists(new_orphan) and arts.read(kept_result)
    for sha in store.get_version("physics.emt", 1).artifacts.values():
        assert arts.read(sha)


def test_b25_build_dirs_of_dead_builders_are_swept(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    killed = tmp_path / f"hub-build-{dead_pid}-abc123"
    (killed / "sub").mkdir(parents=True)
    (killed / "sub" / "weights.keras").write_bytes(b"x" * 1000)
    mine = tmp_path / f"hub-build-{os.getpid()}-def456"  # a build in progress: its pid lives
    mine.mkdir()
    _make_old(mine, 3600)
    legacy_old = tmp_path / "hub-build-zz9"  # from before pids were in the name
    legacy_old.mkdir()
    _make_old(legacy_old, 7 * 3600)
    legacy_new = tmp_path / "hub-build-yy8"
    legacy_new.mkdir()
    other = tmp_path / "not-ours"
    other.mkdir()
    assert sweep_build_dirs(tmp_path, older_than_s=6 * 3600) == 2
    assert not killed.exists() and not legacy_old.exists()
    assert mine.exists() and legacy_new.exists() and other.exists()
