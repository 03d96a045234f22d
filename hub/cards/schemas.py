"""The shapes of a model card (pydantic): the model, its versions with their metrics, data
set and plots, its aliases, how to call it. The HTTP API answers with them
(:mod:`hub.service.schemas` re-exports them) and the CLI prints them without the HTTP layer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, computed_field

from hub.entities import Alias, ModelInfo, Version


class OutputPublic(BaseModel):
    name: str
    unit: str
    description: str = ""


# who measured a figure (Metric.source), as the cards say it
PROVENANCE = {
    "hub": "measured by the hub at registration",
    "publisher": "declared by the publisher",
}


class MetricPublic(BaseModel):
    name: str
    value: float
    split: str
    std: float | None = None
    n: int | None = Field(None, description="number of splits the figure is averaged over")
    source: str = Field(
        "hub", description="'hub': measured by the hub; 'publisher': declared by the publisher"
    )
    n_samples: int | None = Field(None, description="held-out samples behind the figure")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def provenance(self) -> str:
        """``measured by the hub at registration`` or ``declared by the publisher``."""
        return PROVENANCE.get(self.source, self.source)


class DatasetPublic(BaseModel):
    name: str
    sha256: str
    size: int
    citation: str = ""
    license: str = ""


class PlotPublic(BaseModel):
    """A figure the recipe stored with the version (an artifact whose role starts with
    ``plot_``), served at ``url``."""

    role: str
    caption: str = ""
    sha256: str
    url: str


def version_plots(v: Version) -> list[PlotPublic]:
    """The version's plots, in the order of ``spec["plots"]`` and then of the artifacts."""
    captions = v.spec.get("plots") or {}
    roles = [r for r in captions if r in v.artifacts] if isinstance(captions, dict) else []
    roles += [r for r in v.artifacts if r.startswith("plot_") and r not in roles]
    return [
        PlotPublic(
            role=role,
            caption=str(captions.get(role, "")) if isinstance(captions, dict) else "",
            sha256=v.artifacts[role],
            url=f"/v1/models/{v.model}/versions/{v.version}/plots/{role}",
        )
        for role in roles
        if role.startswith("plot_")
    ]


class FeaturizerCostPublic(BaseModel):
    """The featurizer's cost per input on the machine serving the card, with its basis
    (measured by :mod:`hub.cards.cost`)."""

    ms_per_input: float = Field(description="median CPU time per input on one core, ms")
    basis: str = Field(description="what was timed, and how")
    machine: str = Field(description="the serving machine: CPU model and usable cores")
    load_average: float = Field(description="the machine's 1-minute load average then")
    measured_at: datetime
    parallel_threshold: int | None = Field(
        None, description="batches from this many inputs featurize on a pool of processes"
    )


class VersionPublic(BaseModel):
    version: int
    kind: str
    status: str
    created_at: datetime | None
    recipe: str
    recipe_params: dict[str, Any]
    featurizer: dict[str, Any] | None = None
    featurizer_cost: FeaturizerCostPublic | None = Field(
        None, description="the featurizer's cost per input where this card is served"
    )
    spec: dict[str, Any]
    artifacts: dict[str, str]
    dataset: DatasetPublic | None
    software: dict[str, str]
    metrics: list[MetricPublic]
    description: str = ""
    plots: list[PlotPublic] = Field(default_factory=list)

    @classmethod
    def of(
        cls, v: Version, *, featurizer_cost: FeaturizerCostPublic | None = None
    ) -> VersionPublic:
        return cls(
            version=v.version,
            kind=v.kind,
            status=v.status,
            created_at=v.created_at,
            recipe=v.recipe,
            recipe_params=v.recipe_params,
            # the hub's own kinds write {"name", "params"}; a plugin's spec may use the key
            # for something else (a name), which the card shows in spec, not here
            featurizer=f if isinstance(f := v.spec.get("featurizer"), dict) else None,
            featurizer_cost=featurizer_cost,
            spec=v.spec,
            artifacts=v.artifacts,
            dataset=DatasetPublic(**v.dataset.__dict__) if v.dataset else None,
            software=v.software,
            metrics=[MetricPublic(**m.__dict__) for m in v.metrics],
            description=v.description,
            plots=version_plots(v),
        )


class AliasPublic(BaseModel):
    alias: str
    version: int

    @classmethod
    def of(cls, a: Alias) -> AliasPublic:
        return cls(alias=a.alias, version=a.version)


class ModelPublic(BaseModel):
    name: str
    domain: str
    task: str
    title: str
    description: str
    input_type: str
    outputs: list[OutputPublic]
    tags: list[str]
    owner: str
    visibility: str
    default_alias: str
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, m: ModelInfo) -> ModelPublic:
        d = m.to_dict()
        d["outputs"] = [OutputPublic(**o) for o in d["outputs"]]
        d["tags"] = list(m.tags)
        return cls(**d)


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int


class InputTypePublic(BaseModel):
    """What a model takes: the input type's description and an example input."""

    name: str
    description: str = ""
    example: Any = None
    depict: bool = Field(False, description="POST /v1/inputs/{name}/depict draws an input")


class UsagePublic(BaseModel):
    """Ready-to-run calls of the model with its input type's example."""

    curl: str
    python: str


class ParameterPublic(BaseModel):
    """One declared parameter of a prediction or a job (:mod:`hub.params`)."""

    name: str
    type: str = Field(description="integer, number, boolean, string, or one of enum")
    default: Any = None
    description: str = ""
    minimum: int | float | None = Field(None, description="inclusive lower bound")
    maximum: int | float | None = Field(None, description="inclusive upper bound")
    exclusive_minimum: int | float | None = None
    exclusive_maximum: int | float | None = None
    enum: list[Any] | None = None


class TaskPublic(BaseModel):
    """A job a model of this input type runs (``POST /v1/jobs``), with its parameters."""

    name: str
    description: str = ""
    parameters: list[ParameterPublic] = Field(default_factory=list)


class ModelCard(ModelPublic):
    """Everything about a model: what it is, every version with its metrics, its aliases."""

    latest_version: int | None = None
    versions: list[VersionPublic]
    aliases: list[AliasPublic]
    headline: MetricPublic | None = Field(
        None, description="the newest version's headline metric (RMSE, R2, ... with its split)"
    )
    input: InputTypePublic | None = None
    usage: UsagePublic | None = None
    build: dict[str, Any] | None = Field(
        None,
        description="a model without a version yet: its pending build (state queued or "
        "running, expected minutes, fraction done, message)",
    )
    parameters: list[ParameterPublic] = Field(
        default_factory=list,
        description="the parameters a prediction takes (``params``), with types and bounds",
    )
    tasks: list[TaskPublic] = Field(
        default_factory=list, description="the jobs it runs (relax, eos, md, ...)"
    )
    limits: dict[str, Any] = Field(
        default_factory=dict,
        description="what one input may be: the input type's limits, then the model's own "
        "(atoms, cutoff, cost), over which an input gets a typed error naming the limit",
    )
