"""Plain typed records the catalog hands out. They import nothing from the database or HTTP."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class OutputSpec:
    """One quantity a model returns, with its unit (e.g. ``solubility``, ``log10(mol/L)``)."""

    name: str
    unit: str
    description: str = ""


@dataclass(frozen=True)
class ModelInfo:
    """What a model is, independent of its versions."""

    name: str  # "domain.slug"
    domain: str
    task: str
    title: str
    description: str
    input_type: str
    outputs: tuple[OutputSpec, ...]
    tags: tuple[str, ...] = ()
    owner: str = "hub"
    visibility: str = "public"
    default_alias: str = "latest"
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Metric:
    """A figure measured on held-out data: ``value`` (mean) and ``std`` over ``n`` splits.

    ``source`` says who measured it: ``"hub"`` (the hub's own code, at build or registration) or
    ``"publisher"`` (declared by whoever published the model, not checked by the hub).
    ``n_samples`` is the number of held-out samples behind the figure (per split), when known.
    """

    name: str
    value: float
    split: str = "test"
    std: float | None = None
    n: int | None = None
    source: str = "hub"
    n_samples: int | None = None


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    sha256: str
    size: int
    citation: str = ""
    license: str = ""


@dataclass(frozen=True)
class VersionCreate:
    """Everything a recipe hands the catalog to register a version."""

    kind: str  # "keras" | "simulator" | a plugin-defined kind
    spec: dict[str, Any]
    artifacts: dict[str, str] = field(default_factory=dict)  # role -> sha256
    recipe: str = ""
    recipe_params: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    dataset: DatasetInfo | None = None
    software: dict[str, str] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Version:
    """An immutable, numbered version of a model."""

    model: str
    version: int
    kind: str
    spec: dict[str, Any]
    artifacts: dict[str, str]
    recipe: str
    recipe_params: dict[str, Any]
    fingerprint: str
    dataset: DatasetInfo | None
    software: dict[str, str]
    metrics: tuple[Metric, ...]
    status: str
    created_at: datetime | None
    description: str = ""

    @property
    def ref(self) -> str:
        return f"{self.model}:{self.version}"


@dataclass(frozen=True)
class Alias:
    model: str
    alias: str
    version: int


FINAL_STATES = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class Job:
    """A long task on a model version: state, progress (step of total), timings, result."""

    id: str
    model: str
    version: int
    task: str
    state: str
    params: dict[str, Any]
    step: int
    total: int
    message: str
    error: dict[str, Any] | None
    result_sha256: str | None
    worker: str | None
    cancel_requested: bool
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    owner: str | None = None  # the submitter's user name (None: before identities, or a build)

    @property
    def done(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def lost_attempts(self) -> int:
        """How many workers this job has lost so far (see :mod:`hub.catalog.jobs`)."""
        err = self.error if isinstance(self.error, dict) else {}
        return int(err.get("attempts", 0)) if err.get("code") == "worker_lost" else 0
