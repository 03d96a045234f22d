"""Build the models the installed recipes describe, skipping those already built.

A build's *fingerprint* hashes the recipe's name and revision, its effective parameters and the
sha256 of its data files. A version with the same fingerprint is reused; a change of any of
them registers a new version and moves ``latest``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from hub.artifacts import ArtifactStore, sha256_file
from hub.catalog import CatalogStore
from hub.entities import Version, VersionCreate
from hub.errors import IntegrityError, InvalidRequest
from hub.plugins import Recipe, RecipeContext

ProgressFn = Callable[[str, float, str], None]  # (model name, fraction 0..1, message)

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
) -> BuildOutcome:
    """Train (or configure) one recipe's model and register it, unless already built."""
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

    with tempfile.TemporaryDirectory(prefix="hub-build-") as tmp:
        result = recipe.train(
            RecipeContext(params=params, put_artifact=put, progress=report, workdir=Path(tmp))
        )
    for role, sha in result.artifacts.items():  # the row may only point at complete files
        if not artifacts.exists(sha):
            raise IntegrityError(f"recipe {recipe.name} registered a missing artifact {role}")
    new = VersionCreate(
        kind=result.kind,
        spec=result.spec,
        artifacts=result.artifacts,
        recipe=f"{recipe.name}@{recipe.revision}",
        recipe_params=params,
        fingerprint=fp,
        dataset=result.dataset,
        software=software_versions(),
        metrics=result.metrics,
        description=result.description,
    )
    registered = store.register_version(recipe.name, new)
    report(1.0, f"registered {registered.ref}")
    return BuildOutcome(recipe.name, registered, built=True)


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
) -> list[BuildOutcome]:
    """Build every recipe (or those named in ``only``); ``overrides`` maps model -> params."""
    names = {r.name for r in recipes}
    unknown = [n for n in only if n not in names]
    if unknown:
        raise InvalidRequest(
            f"no recipe for {', '.join(unknown)} (known: {', '.join(sorted(names))})"
        )
    # quickest first (a stable sort keeps the plugins' order among equals)
    chosen = sorted((r for r in recipes if not only or r.name in only), key=lambda r: r.minutes)
    return [
        build_one(
            r,
            store,
            artifacts,
            quick=quick,
            force=force,
            progress=progress,
            overrides=(overrides or {}).get(r.name),
        )
        for r in chosen
    ]
