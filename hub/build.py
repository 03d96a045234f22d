"""Build the models the installed recipes describe, skipping those already built.

A build's *fingerprint* hashes the recipe's name and revision, its effective parameters and the
sha256 of its data files. A version with the same fingerprint is reused; a change of any of
them registers a new version and moves ``latest``.

``hub serve --build`` first calls :func:`announce_builds`: every model to build is in the
catalog at once, with a queued build record (a job of task ``build`` with the expected
minutes) that :func:`build_one` then holds under a lease while it trains and finishes with
the version it registered. Work folders are ``hub-build-<pid>-*`` in the temporary folder;
:func:`sweep_build_dirs` removes those of dead builders.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from hub.artifacts import ArtifactStore, sha256_file
from hub.catalog import CatalogStore
from hub.catalog.jobs import JobStore
from hub.entities import Job, Version, VersionCreate
from hub.errors import HubError, IntegrityError, InvalidRequest
from hub.plugins import Recipe, RecipeContext, RecipeResult

ProgressFn = Callable[[str, float, str], None]  # (model name, fraction 0..1, message)
log = logging.getLogger(__name__)
BUILD_DIR_PREFIX = "hub-build-"

SOFTWARE = (
    "model-hub",
    "numpy",
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "rdkit",
    "ase",
    "asap3",
    "tblite",
    "dscribe",
    "scikit-learn",
    "lightgbm",
    "shap",
)


@dataclass(frozen=True)
class BuildOutcome:
    name: str
    version: Version
    built: bool  # False: an identical version already existed


def software_versions() -> dict[str, str]:
    """Versions of Python and of the installed packages that shape a model."""
    out = {"python": platform.python_version()}
    for dist in SOFTWARE:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return out


def effective_params(
    recipe: Recipe, *, quick: bool = False, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    params = dict(recipe.params)
    if quick:
        params.update(recipe.quick)
    for key, value in (overrides or {}).items():
        if key not in params:
            known = ", ".join(sorted(params)) or "none"
            raise InvalidRequest(f"recipe {recipe.name} has no parameter {key!r} (known: {known})")
        params[key] = value
    return params


def fingerprint(recipe: Recipe, params: Mapping[str, Any]) -> str:
    doc = {
        "recipe": recipe.name,
        "revision": recipe.revision,
        "params": params,
        "data": sorted(sha256_file(p) for p in recipe.data),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def build_one(
    recipe: Recipe,
    store: CatalogStore,
    artifacts: ArtifactStore,
    *,
    quick: bool = False,
    overrides: Mapping[str, Any] | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
    cache_dir: Path | None = None,
) -> BuildOutcome:
    """Train (or configure) one recipe's model and register it, unless already built. When
    ``hub serve --build`` announced this build, its record is held under a lease and
    finished here (succeeded, failed, or cancelled when the build is interrupted)."""
    jobs = JobStore(store)
    record = _claim_announced(jobs, recipe.name)
    if record is None:
        return _build_one(recipe, store, artifacts, quick, overrides, force, progress, cache_dir)
    from hub.jobs.runner import JobLimits, Lease

    holder = record.worker or ""
    last = 0.0

    def tracked(name: str, fraction: float, message: str) -> None:
        nonlocal last
        if progress is not None:
            progress(name, fraction, message)
        if time.monotonic() - last >= 2.0 or fraction >= 1.0:
            last = time.monotonic()
            try:
                jobs.progress(record.id, int(fraction * 1000), 1000, message, worker=holder)
            except HubError as exc:  # the record is a courtesy: never stop a build for it
                log.warning("build record of %s: %s", recipe.name, exc)

    limits = JobLimits.from_env()
    with Lease(
        jobs,
        record,
        holder,
        JobLimits(lease_s=limits.lease_s, time_limit_s=0),
        None,
        hard_exit=False,
    ):
        try:
            outcome = _build_one(
                recipe, store, artifacts, quick, overrides, force, tracked, cache_dir
            )
        except BaseException as exc:
            stopped = isinstance(exc, (KeyboardInterrupt, SystemError, SystemExit))
            jobs.finish(
                record.id,
                "cancelled" if stopped else "failed",
                worker=holder,
                message="the build was interrupted" if stopped else str(exc)[:300],
                error=None if stopped else {"code": "build_failed", "message": str(exc)[:300]},
            )
            raise
    done = "registered" if outcome.built else "up to date:"
    jobs.finish(record.id, "succeeded", worker=holder, message=f"{done} {outcome.version.ref}")
    return outcome


def _claim_announced(jobs: JobStore, name: str) -> Job | None:
    try:
        record = jobs.build_of(name)
        if record is None or record.state != "queued":
            return None
        return jobs.claim(record.id, f"builder-{socket.gethostname()[:40]}-{os.getpid()}")
    except HubError as exc:  # the record is a courtesy: never stop a build for it
        log.warning("build record of %s: %s", name, exc)
        return None


def _build_one(
    recipe: Recipe,
    store: CatalogStore,
    artifacts: ArtifactStore,
    quick: bool,
    overrides: Mapping[str, Any] | None,
    force: bool,
    progress: ProgressFn | None,
    cache_dir: Path | None = None,
) -> BuildOutcome:
    params = effective_params(recipe, quick=quick, overrides=overrides)
    fp = fingerprint(recipe, params)
    store.upsert_model(recipe.model)
    if not force and (done := store.find_by_fingerprint(recipe.name, fp)) is not None:
        if all(artifacts.exists(sha) for sha in done.artifacts.values()):
            return BuildOutcome(recipe.name, done, built=False)

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(recipe.name, fraction, message)

    def put(obj: Path | bytes) -> str:
        return artifacts.put_bytes(obj) if isinstance(obj, bytes) else artifacts.put_file(obj)

    with tempfile.TemporaryDirectory(prefix=f"{BUILD_DIR_PREFIX}{os.getpid()}-") as tmp:
        ctx = RecipeContext(params=params, put_artifact=put, progress=report, workdir=Path(tmp))
        if cache_dir is not None:
            ctx.cache_dir = cache_dir
        result = recipe.train(ctx)
    recipe_ref = f"{recipe.name}@{recipe.revision}"
    registered = register_result(store, artifacts, recipe.name, result, recipe_ref, params, fp)
    report(1.0, f"registered {registered.ref}")
    return BuildOutcome(recipe.name, registered, built=True)


def register_result(
    store: CatalogStore,
    artifacts: ArtifactStore,
    name: str,
    result: RecipeResult,
    recipe: str,
    params: Mapping[str, Any],
    fp: str,
) -> Version:
    """Register what a recipe (or a trainer, :mod:`hub.training`) returned as the next
    version of model ``name``, made by ``recipe`` (``name@revision``) with ``params``. Its
    artifacts must be stored already: the row may only point at complete files."""
    for role, sha in result.artifacts.items():
        if not artifacts.exists(sha):
            raise IntegrityError(f"recipe {recipe} registered a missing artifact {role}")
    new = VersionCreate(
        kind=result.kind,
        spec=result.spec,
        artifacts=result.artifacts,
        recipe=recipe,
        recipe_params=dict(params),
        fingerprint=fp,
        dataset=result.dataset,
        software=software_versions(),
        metrics=result.metrics,
        description=result.description,
    )
    return store.register_version(name, new)


def _chosen(recipes: Sequence[Recipe], only: Sequence[str]) -> list[Recipe]:
    """The recipes named in ``only`` (all when empty), quickest first (Recipe.minutes)."""
    names = {r.name for r in recipes}
    unknown = [n for n in only if n not in names]
    if unknown:
        raise InvalidRequest(
            f"no recipe for {', '.join(unknown)} (known: {', '.join(sorted(names))})"
        )
    # a stable sort keeps the plugins' order among equals
    return sorted((r for r in recipes if not only or r.name in only), key=lambda r: r.minutes)


def announce_builds(
    recipes: Sequence[Recipe], store: CatalogStore, *, only: Sequence[str] = ()
) -> list[Job]:
    """Put each chosen model that has no version yet in the catalog, with a queued build
    record carrying its expected time (``params["minutes"]``, from Recipe.minutes): from now
    on a predict answers ``version_not_found`` (being built), not ``model_not_found``.
    Takes no time: nothing is hashed or trained here."""
    jobs = JobStore(store)
    planned = []
    for recipe in _chosen(recipes, only):
        store.upsert_model(recipe.model)
        if store.list_versions(recipe.name):
            continue  # served as it is meanwhile; the build decides whether to rebuild
        planned.append(jobs.announce_build(recipe.name, minutes=recipe.minutes))
    return planned


def referenced_artifacts(store: CatalogStore) -> set[str]:
    """Every sha256 the catalog refers to: the files of every version and every job result."""
    shas = {sha for v in store.all_versions() for sha in v.artifacts.values()}
    return shas | JobStore(store).result_shas()


def sweep_build_dirs(tmp_dir: str | Path | None = None, *, older_than_s: float = 6 * 3600.0) -> int:
    """Remove the work folders of builds that were killed (``hub-build-<pid>-*`` of a process
    that is gone, or of any kind older than ``older_than_s``); a build in progress keeps its
    folder. Returns how many were removed."""
    root = Path(tmp_dir or tempfile.gettempdir())
    cutoff = time.time() - older_than_s
    removed = 0
    for path in root.glob(f"{BUILD_DIR_PREFIX}*"):
        try:
            if not path.is_dir() or path.is_symlink():
                continue
            pid_text = path.name[len(BUILD_DIR_PREFIX) :].split("-", 1)[0]
            owner_gone = pid_text.isdigit() and not _alive(int(pid_text))
            if not owner_gone and path.stat().st_mtime >= cutoff:
                continue
            shutil.rmtree(path)
        except OSError:
            continue
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def build_all(
    recipes: Sequence[Recipe],
    store: CatalogStore,
    artifacts: ArtifactStore,
    *,
    only: Sequence[str] = (),
    quick: bool = False,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
    cache_dir: Path | None = None,
) -> list[BuildOutcome]:
    """Build every recipe (or those named in ``only``), quickest first; ``overrides`` maps
    model -> params; ``cache_dir`` is the recipes' cache folder (``Settings.cache_dir``;
    default ``$XDG_CACHE_HOME/model-hub``). When the build stops early, the build records
    still queued are cancelled."""
    out = []
    try:
        for r in _chosen(recipes, only):
            out.append(
                build_one(
                    r,
                    store,
                    artifacts,
                    quick=quick,
                    force=force,
                    progress=progress,
                    overrides=(overrides or {}).get(r.name),
                    cache_dir=cache_dir,
                )
            )
    except BaseException:
        try:
            JobStore(store).cancel_builds("the build stopped before it got there")
        except HubError as exc:
            log.warning("could not cancel the queued build records: %s", exc)
        raise
    return out
