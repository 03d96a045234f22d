"""``manifest.json``: what a pack holds, as a strict schema (unknown fields are refused).

Written by :func:`build_manifest` from the catalog's records, read back by
:func:`parse_manifest`, which names the offending field in its 422 (``invalid_manifest``).
The manifest's own sha256 is the text of ``manifest.sha256`` (``sha256sum`` format:
``<hex>  manifest.json``), checked before the manifest is parsed at all.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from hub import __version__
from hub.entities import DatasetInfo, Metric, ModelInfo, OutputSpec, Version
from hub.errors import InvalidRequest

FORMAT = "hubpack"
FORMAT_VERSION = 1

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Role = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,100}$")]
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,199}$")]
Short = Annotated[str, Field(max_length=100)]
Text = Annotated[str, Field(max_length=20_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileEntry(_Strict):
    """A file of the pack: its sha256 and size (bytes)."""

    sha256: Sha256
    size: int = Field(ge=0)


def _entry(name: str, record: type, bounds: dict[str, Any]) -> type[BaseModel]:
    """A strict schema with the fields of the dataclass ``record`` (so that a field added to
    the record travels in packs at once), the types of ``bounds`` replacing its own."""
    hints = get_type_hints(record)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        default = ... if f.default is dataclasses.MISSING else f.default
        fields[f.name] = (bounds.get(f.name, hints[f.name]), default)
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


Count = Annotated[int | None, Field(ge=0, le=2**31 - 1)]
OutputEntry = _entry(
    "OutputEntry",
    OutputSpec,
    {"name": Short, "unit": Short, "description": Annotated[str, Field(max_length=2000)]},
)
MetricEntry = _entry(
    "MetricEntry",
    Metric,
    {
        "name": Short,
        "split": Short,
        "n": Count,
        "n_samples": Count,
        "source": Annotated[str, Field(max_length=20)],
    },
)
DatasetEntry = _entry(
    "DatasetEntry",
    DatasetInfo,
    {
        "name": Annotated[str, Field(max_length=300)],
        "sha256": Annotated[str, Field(max_length=200)],
        "size": Annotated[int, Field(ge=0, le=2**62)],
        "citation": Text,
        "license": Text,
    },
)


class ModelEntry(_Strict):
    """The model's :class:`~hub.entities.ModelInfo` on the exporting hub."""

    name: Name
    domain: Short
    task: Short
    title: Annotated[str, Field(max_length=300)]
    description: Text = ""
    input_type: Short
    outputs: Annotated[list[OutputEntry], Field(max_length=100)]  # type: ignore[valid-type]
    tags: Annotated[list[Short], Field(max_length=100)] = []
    owner: Annotated[str, Field(max_length=200)] = ""
    visibility: Annotated[str, Field(max_length=100)] = ""
    default_alias: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,100}$")] = "latest"
    created_at: datetime | None = None
    updated_at: datetime | None = None


class VersionEntry(_Strict):
    """The exported version: how it runs (``kind``, ``spec``) and where it came from."""

    version: int = Field(ge=1, le=2**31 - 1)
    kind: Short
    spec: dict[str, Any]
    recipe: Annotated[str, Field(max_length=180)] = ""
    recipe_params: dict[str, Any] = {}
    fingerprint: Annotated[str, Field(max_length=64)] = ""
    dataset: DatasetEntry | None = None  # type: ignore[valid-type]
    software: Annotated[dict[Short, Short], Field(max_length=200)] = {}
    metrics: Annotated[list[MetricEntry], Field(max_length=2000)] = []  # type: ignore[valid-type]
    description: Text = ""
    created_at: datetime | None = None


class SourceEntry(_Strict):
    """The exporting hub: its public URL when it has one, and its software."""

    hub: Annotated[str, Field(max_length=500)] | None = None
    software: Annotated[dict[Short, Short], Field(max_length=50)] = {}


class PackManifest(_Strict):
    format: Literal["hubpack"]
    format_version: Literal[1]
    exported_at: datetime
    source: SourceEntry
    model: ModelEntry
    version: VersionEntry
    artifacts: Annotated[dict[Role, FileEntry], Field(max_length=64)]
    files: dict[Literal["card.md"], FileEntry]

    def model_info(self, *, name: str, owner: str, visibility: str) -> ModelInfo:
        """The model as the importing hub registers it (its own name, owner, visibility)."""
        m = self.model
        return ModelInfo(
            name=name,
            domain=m.domain,
            task=m.task,
            title=m.title,
            description=m.description,
            input_type=m.input_type,
            outputs=tuple(OutputSpec(**o.model_dump()) for o in m.outputs),
            tags=tuple(m.tags),
            owner=owner,
            visibility=visibility,
            default_alias=m.default_alias,
        )

    def metrics(self) -> tuple[Metric, ...]:
        return tuple(Metric(**m.model_dump()) for m in self.version.metrics)

    def dataset(self) -> DatasetInfo | None:
        d = self.version.dataset
        return DatasetInfo(**d.model_dump()) if d else None


_LATER = ("outputs", "tags", "created_at", "updated_at")


def build_manifest(
    model: ModelInfo,
    version: Version,
    artifacts: dict[str, FileEntry],
    card: FileEntry,
    *,
    exported_at: datetime,
    hub_url: str | None,
) -> dict[str, Any]:
    """The manifest of ``version`` of ``model`` as plain JSON data."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": exported_at.isoformat(),
        "source": {"hub": hub_url, "software": {"model-hub": __version__}},
        "model": {
            **{f: getattr(model, f) for f in ModelEntry.model_fields if f not in _LATER},
            "outputs": [asdict(o) for o in model.outputs],
            "tags": list(model.tags),
            "created_at": _iso(model.created_at),
            "updated_at": _iso(model.updated_at),
        },
        "version": {
            "version": version.version,
            "kind": version.kind,
            "spec": version.spec,
            "recipe": version.recipe,
            "recipe_params": version.recipe_params,
            "fingerprint": version.fingerprint,
            "dataset": asdict(version.dataset) if version.dataset else None,
            "software": version.software,
            "metrics": [asdict(m) for m in version.metrics],
            "description": version.description,
            "created_at": _iso(version.created_at),
        },
        "artifacts": {role: entry.model_dump() for role, entry in artifacts.items()},
        "files": {"card.md": card.model_dump()},
    }


def dump_manifest(doc: dict[str, Any]) -> bytes:
    """The manifest's bytes: two-space indent, UTF-8, a final newline. Keys keep their order
    (a spec's parameters come back in predictions: sorted, they would not be the same JSON)."""
    text = json.dumps(doc, indent=2, ensure_ascii=False, default=str)
    return (text + "\n").encode("utf-8")


def parse_manifest(data: bytes) -> PackManifest:
    """The manifest's bytes checked against the schema; a 422 naming the field otherwise."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidRequest(
            f"manifest.json is not UTF-8 JSON: {str(exc)[:200]}", code="invalid_manifest"
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InvalidRequest("manifest.json is not a hubpack manifest", code="invalid_manifest")
    if doc.get("format_version") != FORMAT_VERSION:
        raise InvalidRequest(
            f"hubpack format version {str(doc.get('format_version'))[:20]!r} is not supported "
            f"(this hub reads version {FORMAT_VERSION}): upgrade the hub",
            code="unsupported_pack_version",
        )
    try:
        return PackManifest.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InvalidRequest(
            f"manifest.json: {field}: {first['msg']}",
            code="invalid_manifest",
            field=field,
            errors=len(exc.errors()),
        ) from exc
    except RecursionError as exc:
        raise InvalidRequest("manifest.json is nested too deeply", code="invalid_manifest") from exc


def digest_line(sha: str) -> bytes:
    """The text of ``manifest.sha256`` (``sha256sum -c`` reads it)."""
    return f"{sha}  manifest.json\n".encode("ascii")


def parse_digest_line(data: bytes) -> str | None:
    """The sha256 a ``manifest.sha256`` names, or None when it is not one such line."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None
    sha, sep, rest = text.partition("  ")
    if not sep or rest != "manifest.json\n" or len(sha) != 64:
        return None
    return sha if all(c in "0123456789abcdef" for c in sha) else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
