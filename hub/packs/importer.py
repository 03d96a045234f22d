"""Import a ``.hubpack`` as a new version (see :mod:`hub.packs`).

The order matters: every check runs on the pack and on a private copy of its files before
the catalog or the artifact store is touched; then the artifacts are stored, then the model
and version rows written. When anything fails after that, the model row (if this import made
it) and the artifact files this import added are removed again: nothing registered, no file
left.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from hub.artifacts import ArtifactStore, sha256_bytes, sha256_file
from hub.auth.identity import SYSTEM, Caller
from hub.auth.policy import can_manage, check_visibility
from hub.catalog import CatalogStore
from hub.catalog.refs import NAME_RE
from hub.catalog.rows import ModelRow, VersionRow
from hub.entities import ModelInfo, Version, VersionCreate
from hub.errors import (
    AlreadyExists,
    Forbidden,
    HubError,
    InvalidRequest,
    NotFound,
    PluginError,
)
from hub.packs.archive import (
    CARD,
    MANIFEST,
    MANIFEST_DIGEST,
    PackCorrupt,
    PackLimits,
    PackReader,
    artifact_member,
)
from hub.packs.checks import SandboxLimits, check_keras_files, check_loads
from hub.packs.manifest import PackManifest, parse_digest_line, parse_manifest
from hub.plugins import PluginRegistry

IMPORTED_PREFIX = "imported:"


@dataclass(frozen=True)
class ImportResult:
    """The version registered (or found: ``created`` False when this very pack had been
    imported into the model before), the pack's sha256 and where the model came from."""

    version: Version
    pack_sha256: str
    created: bool
    imported_from: dict[str, Any]


@dataclass(frozen=True)
class _Checked:
    manifest: PackManifest
    manifest_sha256: str
    pack_sha256: str
    files: dict[str, int]  # artifact sha256 -> size (bytes)


def import_pack(
    path: str | Path,
    *,
    store: CatalogStore,
    artifacts: ArtifactStore,
    plugins: PluginRegistry,
    caller: Caller = SYSTEM,
    name: str | None = None,
    owner: str | None = None,
    visibility: str | None = None,
    aliases: Sequence[str] = ("latest",),
    expected_sha256: str | None = None,
    limits: PackLimits | None = None,
    max_input_chars: int = 20_000,
    sandbox: SandboxLimits | None = None,
) -> ImportResult:
    """Check the pack at ``path`` and register it as the next version of ``name`` (default:
    the exported model's name). A new model belongs to ``owner`` (default: the caller) and is
    ``visibility`` (default ``private``); an existing one must be the caller's to manage and
    keeps its owner and, unless given, its visibility. Keras files go through the publishing
    gate (:mod:`hub.packs.checks`) with ``sandbox`` limits."""
    limits = limits or PackLimits()
    with PackReader(Path(path), limits) as reader:
        checked = _check_pack(reader, limits, expected_sha256)
        m = checked.manifest
        target = name or m.model.name
        new_owner, existing = _check_target(store, plugins, m, target, caller, owner, visibility)
        fingerprint = sha256_bytes(f"hubpack:{checked.manifest_sha256}".encode())
        if existing is not None:
            done = store.find_by_fingerprint(target, fingerprint)
            if done is not None and all(artifacts.exists(s) for s in done.artifacts.values()):
                return ImportResult(
                    done, checked.pack_sha256, False, dict(done.spec.get("imported_from") or {})
                )
        with tempfile.TemporaryDirectory(prefix="hub-import-") as tmp:
            staged = _stage(reader, checked, Path(tmp))
            origin = _origin(checked)
            new = _version_create(m, origin, fingerprint)
            check_keras_files(new, staged, sandbox or SandboxLimits())
            check_loads(
                plugins,
                target,
                new,
                staged,
                input_type=m.model.input_type,
                max_input_chars=max_input_chars,
            )
            version = _register(
                store,
                artifacts,
                staged,
                m.model_info(name=target, owner="hub", visibility="private"),
                new,
                create=existing is None,
                owner=new_owner,
                visibility=visibility or ("private" if existing is None else None),
                aliases=aliases,
            )
    return ImportResult(version, checked.pack_sha256, True, origin)


def _check_pack(reader: PackReader, limits: PackLimits, expected: str | None) -> _Checked:
    """The pack's own structure and every hash: the manifest's digest, the manifest, the
    card's sha256, each artifact's size (its sha256 is checked when staged)."""
    pack_sha = sha256_file(reader.path)
    if expected is not None and pack_sha != expected.strip().lower():
        raise PackCorrupt(
            f"the pack's sha256 is {pack_sha}, not the expected {expected[:80]}",
            sha256=pack_sha,
        )
    digest = parse_digest_line(reader.read(MANIFEST_DIGEST, 200))
    if digest is None:
        raise PackCorrupt("manifest.sha256 is damaged (expected '<sha256>  manifest.json')")
    raw = reader.read(MANIFEST, limits.max_manifest_bytes)
    if sha256_bytes(raw) != digest:
        raise PackCorrupt("manifest.json does not match manifest.sha256: the pack was changed")
    manifest = parse_manifest(raw)
    files: dict[str, int] = {}
    for role, entry in manifest.artifacts.items():
        if files.setdefault(entry.sha256, entry.size) != entry.size:
            raise PackCorrupt(f"artifact {role}: two sizes declared for one sha256")
    expected_names = {MANIFEST, MANIFEST_DIGEST, CARD} | {artifact_member(s) for s in files}
    extra = sorted(reader.names() - expected_names)
    if extra:
        raise InvalidRequest(
            f"unexpected member {extra[0]!r}: the manifest does not list it",
            code="unexpected_member",
        )
    missing = sorted(expected_names - reader.names())
    if missing:
        raise PackCorrupt(f"the pack lacks {missing[0]}, which its manifest lists")
    for sha, size in files.items():
        if reader.members[artifact_member(sha)].file_size != size:
            raise PackCorrupt(f"artifact {sha} is not the {size} bytes the manifest says")
    card_entry = manifest.files["card.md"]
    card = reader.read(CARD, limits.max_card_bytes)
    if len(card) != card_entry.size or sha256_bytes(card) != card_entry.sha256:
        raise PackCorrupt("card.md does not match its sha256 in the manifest")
    return _Checked(manifest, digest, pack_sha, files)


def _check_target(
    store: CatalogStore,
    plugins: PluginRegistry,
    m: PackManifest,
    target: str,
    caller: Caller,
    owner: str | None,
    visibility: str | None,
) -> tuple[str, ModelInfo | None]:
    """The new model's owner and the existing model of that name (None: a new one), after
    checking that this hub can serve the pack and the caller may put it there."""
    from hub.runtime.core import builtin_kinds

    if not NAME_RE.match(target or ""):
        raise InvalidRequest(
            f"invalid model name {str(target)[:120]!r}: use lower-case 'domain.slug'",
            code="invalid_name",
        )
    if plugins.model_kind(m.version.kind) is None and m.version.kind not in builtin_kinds():
        raise PluginError(
            f"this hub cannot serve models of kind {m.version.kind!r}: install its plugin first"
        )
    plugins.input_type(m.model.input_type)  # PluginError when no plugin provides it
    if visibility is not None:
        check_visibility(visibility)
    new_owner = owner or caller.user
    if not new_owner:
        raise InvalidRequest("an imported model needs an owner", code="owner_required")
    if owner is not None and owner != caller.user and not caller.is_admin:
        raise Forbidden("only an admin imports a model for another user", code="not_owner")
    from hub.auth.users import group_row, user_row

    with store.session() as s:  # NotFound (404) for an unknown user or group, before any work
        if new_owner != "hub":
            user_row(s, new_owner)
        if visibility is not None and visibility.startswith("group:"):
            group_row(s, visibility.removeprefix("group:"))
    try:
        existing = store.get_model(target)
    except NotFound:
        return new_owner, None
    if not can_manage(caller, existing.owner):
        raise AlreadyExists(
            f"a model named {target!r} exists and is not yours: import it under another name",
            code="model_exists",
        )
    theirs = [(o.name, o.unit) for o in m.model.outputs]
    ours = [(o.name, o.unit) for o in existing.outputs]
    if existing.input_type != m.model.input_type or theirs != ours:
        raise InvalidRequest(
            f"model {target!r} takes {existing.input_type} and gives {ours}; the pack's model "
            f"takes {m.model.input_type} and gives {theirs}: import it under another name",
            code="incompatible_model",
        )
    return new_owner, existing


def _stage(reader: PackReader, checked: _Checked, tmp: Path) -> dict[str, Path]:
    """Every artifact copied into ``tmp`` and checked against its sha256 and size."""
    staged: dict[str, Path] = {}
    for sha, size in checked.files.items():
        dst = tmp / sha
        with open(dst, "wb") as fh:
            got, n = reader.extract(artifact_member(sha), fh)
        if got != sha or n != size:
            raise PackCorrupt(f"artifact {sha} does not match its sha256: the pack was changed")
        staged[sha] = dst
    return staged


def _origin(checked: _Checked) -> dict[str, Any]:
    m = checked.manifest
    origin: dict[str, Any] = {
        "hub": m.source.hub,
        "model": m.model.name,
        "version": m.version.version,
        "recipe": m.version.recipe,
        "fingerprint": m.version.fingerprint,
        "exported_at": m.exported_at.isoformat(),
        "imported_at": datetime.now(UTC).isoformat(),
        "pack_sha256": checked.pack_sha256,
        "manifest_sha256": checked.manifest_sha256,
    }
    previous = m.version.spec.get("imported_from")
    if isinstance(previous, dict):  # a model moved twice keeps its first hub
        origin["previous"] = previous
    return origin


def _version_create(m: PackManifest, origin: dict[str, Any], fingerprint: str) -> VersionCreate:
    v = m.version
    where = origin["hub"] or "another hub"
    note = (
        f"Imported from {where} ({origin['model']}:{origin['version']}, exported "
        f"{m.exported_at:%Y-%m-%d %H:%M} UTC; pack sha256 {origin['pack_sha256']})."
    )
    recipe = v.recipe.removeprefix(IMPORTED_PREFIX)
    return VersionCreate(
        kind=v.kind,
        spec={**v.spec, "imported_from": origin},
        artifacts={role: e.sha256 for role, e in m.artifacts.items()},
        recipe=f"{IMPORTED_PREFIX}{recipe}",
        recipe_params=v.recipe_params,
        fingerprint=fingerprint,
        dataset=m.dataset(),
        software=v.software,
        metrics=m.metrics(),
        description=f"{v.description}\n\n{note}" if v.description else note,
    )


def _register(
    store: CatalogStore,
    artifacts: ArtifactStore,
    staged: dict[str, Path],
    info: ModelInfo,
    new: VersionCreate,
    *,
    create: bool,
    owner: str,
    visibility: str | None,
    aliases: Sequence[str],
) -> Version:
    """Store the artifacts, then the rows; undo both when anything fails."""
    added: list[str] = []
    created = False
    try:
        for sha, path in staged.items():
            if not artifacts.exists(sha):
                added.append(sha)
                artifacts.put_file(path)
        if create:
            store.upsert_model(info)
            created = True
            store.set_visibility(info.name, visibility, owner=owner)
        elif visibility is not None:
            store.set_visibility(info.name, visibility)
        return store.register_version(info.name, new, aliases=aliases)
    except BaseException:
        _undo(store, artifacts, info.name if created else None, added)
        raise


def _undo(
    store: CatalogStore, artifacts: ArtifactStore, model: str | None, added: list[str]
) -> None:
    """Remove the model row this import made (while it has no version) and the artifact
    files it added that no version refers to."""
    try:
        if model is not None:
            with store.session() as s:
                row = s.scalar(select(ModelRow).where(ModelRow.name == model))
                versions = (
                    s.scalar(
                        select(func.count())
                        .select_from(VersionRow)
                        .where(VersionRow.model_id == row.id)
                    )
                    if row is not None
                    else 1
                )
                if row is not None and not versions:
                    s.execute(delete(ModelRow).where(ModelRow.id == row.id))
        referenced = {sha for v in store.all_versions() for sha in v.artifacts.values()}
    except HubError:
        return  # the catalog is gone: leave the files to the orphan sweep
    for sha in added:
        if sha not in referenced:
            _delete(artifacts, sha)


def _delete(artifacts: ArtifactStore, sha: str) -> None:
    """Remove one stored file (a local folder, or a store behind an fsspec URL)."""
    path = artifacts.path(sha)
    fs = getattr(artifacts, "fs", None)
    if fs is None:
        Path(path).unlink(missing_ok=True)
    elif fs.exists(path):
        fs.rm(path)
