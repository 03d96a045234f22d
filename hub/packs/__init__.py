"""Move models between hubs: one version of a model as one ``.hubpack`` file.

A ``.hubpack`` is a zip whose members are stored uncompressed, in this order::

    manifest.json        what the pack holds (schema: hub.packs.manifest.PackManifest)
    manifest.sha256      "<sha256 of manifest.json>  manifest.json\\n" (sha256sum -c reads it)
    card.md              the model card of the exported version (Markdown)
    artifacts/<sha256>   each artifact once, named by its sha256

``manifest.json`` holds the format (``hubpack``, version 1), when it was exported and by which
hub (its public URL when set), the model's record (name, domain, task, title, description,
input type, outputs, tags...), the version's kind, spec, recipe and parameters, fingerprint,
data set, software, metrics, description and build time, every artifact's role with its
sha256 and size, and the card's sha256 and size.

:func:`export_model` writes one (atomically; every artifact is re-verified as it is read);
:func:`import_model` checks the pack's structure (sizes, names, no path outside the root, no
extra member, no zip bomb, members tiling the file), the manifest against its digest and its
schema, the card and every artifact against their sha256, loads the model through its kind
(Keras with ``safe_mode=True``) and only then stores the artifacts and registers the next
version of the model, with ``recipe`` ``imported:<recipe>`` and ``spec["imported_from"]``
saying where it came from. Any changed byte is refused with :class:`PackCorrupt` (an
:class:`~hub.errors.IntegrityError`); nothing is registered and no file is left behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hub.artifacts import ArtifactStore
from hub.auth.identity import SYSTEM, Caller
from hub.catalog import CatalogStore
from hub.catalog.refs import Ref
from hub.packs.archive import PackCorrupt, PackLimits
from hub.packs.checks import SandboxLimits
from hub.packs.exporter import ExportResult, export_version
from hub.packs.importer import IMPORTED_PREFIX, ImportResult, import_pack
from hub.plugins import PluginRegistry

__all__ = [
    "IMPORTED_PREFIX",
    "ExportResult",
    "ImportResult",
    "PackCorrupt",
    "PackLimits",
    "SandboxLimits",
    "export_model",
    "import_model",
]


def export_model(
    ref: str | Ref,
    path: str | Path,
    *,
    store: CatalogStore | None = None,
    artifacts: ArtifactStore | None = None,
    caller: Caller | None = None,
    plugins: PluginRegistry | None = None,
    hub_url: str | None = None,
) -> ExportResult:
    """Write the version ``ref`` points at (``name``, ``name@alias`` or ``name:3``) to the
    pack ``path``. Defaults: the catalog and artifacts of :func:`hub.config.load_settings`
    (like ``hub build``), the installed plugins (for the card's example input) and
    ``HUB_PUBLIC_URL`` as the exporting hub's identity."""
    from hub.config import load_settings
    from hub.plugins import load_plugins

    settings = load_settings()
    own = store is None
    store = store or CatalogStore(settings.database_url)
    try:
        return export_version(
            ref,
            path,
            store=store,
            artifacts=artifacts or ArtifactStore(settings.artifacts_dir),
            caller=caller,
            plugins=plugins or load_plugins(),
            hub_url=hub_url or settings.public_url,
        )
    finally:
        if own:
            store.close()


def sandbox_limits(settings: object) -> SandboxLimits:
    """The sandbox limits of ``settings`` (``HUB_SANDBOX_TIMEOUT_S``, ``HUB_SANDBOX_MEMORY_MB``,
    four times ``HUB_MAX_UPLOAD_BYTES`` unpacked, as for a published model)."""
    default = SandboxLimits()
    upload = getattr(settings, "max_upload_bytes", None)
    return SandboxLimits(
        timeout_s=float(getattr(settings, "sandbox_timeout_s", default.timeout_s)),
        memory_mb=int(getattr(settings, "sandbox_memory_mb", default.memory_mb)),
        max_unpacked=4 * int(upload) if upload else default.max_unpacked,
    )


def import_model(
    path: str | Path,
    *,
    name: str | None = None,
    owner: str | None = None,
    visibility: str | None = None,
    aliases: Sequence[str] = ("latest",),
    sha256: str | None = None,
    store: CatalogStore | None = None,
    artifacts: ArtifactStore | None = None,
    caller: Caller = SYSTEM,
    plugins: PluginRegistry | None = None,
    limits: PackLimits | None = None,
    sandbox: SandboxLimits | None = None,
) -> ImportResult:
    """Register the pack at ``path`` as the next version of ``name`` (default: the exported
    model's name) after checking every hash; ``sha256``: the pack file's expected digest.
    A new model belongs to ``owner`` (default: the caller; the local CLI is the ``hub``
    user) and is ``visibility`` (default ``private``). Keras files are checked and loaded in
    the publishing sandbox first (``sandbox``: default the settings' ``HUB_SANDBOX_*``).
    Defaults as :func:`export_model`."""
    from hub.config import load_settings
    from hub.plugins import load_plugins

    settings = load_settings()
    own = store is None
    store = store or CatalogStore(settings.database_url)
    try:
        return import_pack(
            path,
            store=store,
            artifacts=artifacts or ArtifactStore(settings.artifacts_dir),
            plugins=plugins or load_plugins(),
            caller=caller,
            name=name,
            owner=owner,
            visibility=visibility,
            aliases=aliases,
            expected_sha256=sha256,
            limits=limits,
            max_input_chars=settings.max_input_chars,
            sandbox=sandbox or sandbox_limits(settings),
        )
    finally:
        if own:
            store.close()
