"""Export one version of a model as a ``.hubpack`` (see :mod:`hub.packs`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hub.artifacts import ArtifactStore, sha256_bytes
from hub.auth.identity import Caller
from hub.catalog import CatalogStore
from hub.catalog.refs import Ref
from hub.packs.archive import CARD, MANIFEST, MANIFEST_DIGEST, artifact_member, write_pack
from hub.packs.manifest import FileEntry, build_manifest, digest_line, dump_manifest
from hub.plugins import PluginRegistry


@dataclass(frozen=True)
class ExportResult:
    """The pack written: where, its sha256 and size (bytes), and the version it holds."""

    path: Path
    sha256: str
    size: int
    model: str
    version: int
    artifacts: int


def version_card(
    store: CatalogStore,
    name: str,
    version: int,
    *,
    plugins: PluginRegistry | None,
    base_url: str,
) -> str:
    """The model card (Markdown, the renderer of ``GET /v1/models/{name}/card.md``) with
    only ``version`` in it: its metrics, provenance and the aliases pointing at it."""
    from hub.cards.card import DEFAULT_BASE_URL, headline_metric, model_card
    from hub.cards.markdown import card_markdown

    card = model_card(store, name, plugins=plugins, base_url=base_url or DEFAULT_BASE_URL)
    kept = [v for v in card.versions if v.version == version]
    card = card.model_copy(
        update={
            "versions": kept,
            "aliases": [a for a in card.aliases if a.version == version],
            "latest_version": version,
            "headline": headline_metric(kept[0].metrics) if kept else None,
        }
    )
    return card_markdown(card, base_url=base_url or DEFAULT_BASE_URL)


def export_version(
    ref: str | Ref,
    path: str | Path,
    *,
    store: CatalogStore,
    artifacts: ArtifactStore,
    caller: Caller | None = None,
    plugins: PluginRegistry | None = None,
    hub_url: str | None = None,
) -> ExportResult:
    """Write the version ``ref`` points at (``name``, ``name@alias``, ``name:3``) to the pack
    ``path``. With ``caller``, a model they may not see is not found. Every artifact is read
    through the store, so a damaged file fails the export (IntegrityError) instead of
    travelling."""
    version = store.resolve(ref, caller=caller)
    model = store.get_model(version.model, caller=caller)
    members: dict[str, bytes] = {}
    entries: dict[str, FileEntry] = {}
    for role, sha in sorted(version.artifacts.items()):
        data = members.get(artifact_member(sha))
        if data is None:
            data = members[artifact_member(sha)] = artifacts.read(sha)  # verifies the sha256
        entries[role] = FileEntry(sha256=sha, size=len(data))
    card = version_card(
        store, model.name, version.version, plugins=plugins, base_url=hub_url or ""
    ).encode("utf-8")
    manifest = dump_manifest(
        build_manifest(
            model,
            version,
            entries,
            FileEntry(sha256=sha256_bytes(card), size=len(card)),
            exported_at=datetime.now(UTC),
            hub_url=hub_url,
        )
    )
    members[MANIFEST] = manifest
    members[MANIFEST_DIGEST] = digest_line(sha256_bytes(manifest))
    members[CARD] = card
    sha, size = write_pack(Path(path), members.items())
    return ExportResult(
        Path(path), sha, size, version.model, version.version, len(set(version.artifacts.values()))
    )
