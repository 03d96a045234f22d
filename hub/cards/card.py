"""A model card: the model, its versions with their metrics, its aliases, how to call it.
Plain Python, so the HTTP layer, the CLI, the web pages and the Markdown card share it.

Metrics are grouped by what they measure, from their names alone (the hub knows no domain):
``performance`` (RMSE, R2, reference figures of a simulator), ``calibration`` of the
uncertainty (``within_1sigma``, ``sigma_scale``, ...) and ``applicability`` domain
(``ad_threshold``, ``fraction_in_domain``, ``rmse_in_domain``, ...).
"""

from __future__ import annotations

import json
import pprint
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.cards.cost import featurizer_cost
from hub.cards.params import model_limits, model_tasks, prediction_parameters
from hub.cards.schemas import (
    PROVENANCE,
    AliasPublic,
    InputTypePublic,
    MetricPublic,
    ModelCard,
    ModelPublic,
    UsagePublic,
    VersionPublic,
)
from hub.catalog import CatalogStore
from hub.entities import Metric, ModelInfo, Version
from hub.errors import PluginError
from hub.plugins import PluginRegistry

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
HEADLINE_NAMES = ("rmse", "r2", "mae", "accuracy", "roc_auc")
GROUPS = ("performance", "calibration", "applicability")
GROUP_TITLES = {
    "performance": "Held-out metrics",
    "calibration": "Uncertainty calibration",
    "applicability": "Applicability domain",
}


def metric_group(name: str) -> str:
    """``performance``, ``calibration`` or ``applicability``, from the metric's name."""
    if name.startswith("ad_") or "in_domain" in name or "out_of_domain" in name:
        return "applicability"
    if name.startswith(("within_", "sigma_", "spearman_sigma")):
        return "calibration"
    return "performance"


def headline_metric(metrics: Sequence[Metric | MetricPublic]) -> Metric | MetricPublic | None:
    """The figure an index shows for a version: the first registered metric named in
    :data:`HEADLINE_NAMES` (a recipe registers its headline figure first: RMSE for a
    property, R2 for a yield), preferring one averaged over several splits; else the first
    performance metric. A figure the hub measured beats one the publisher declared."""
    measured = [m for m in metrics if getattr(m, "source", "hub") == "hub"]
    for pool in (measured, list(metrics)):
        named = [m for m in pool if m.name in HEADLINE_NAMES]
        if named:
            return next((m for m in named if m.std is not None), named[0])
        first = next((m for m in pool if metric_group(m.name) == "performance"), None)
        if first is not None:
            return first
    return None


def format_value(value: float | None) -> str:
    """Four significant figures; an em dash for a missing or non-finite value."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return "—"
    return f"{value:.4g}"


def format_metric(m: Metric | MetricPublic, *, with_name: bool = True) -> str:
    """``rmse 0.583 ± 0.037`` (the spread only when measured over several splits)."""
    text = format_value(m.value)
    if m.std is not None and (m.n is None or m.n > 1):
        text += f" ± {format_value(m.std)}"
    return f"{m.name} {text}" if with_name else text


@dataclass
class MetricRow:
    """One split of a metric table: its cells by metric name."""

    split: str
    how: str = ""
    n: int | None = None  # splits
    samples: int | None = None  # held-out samples (per split), when known
    cells: dict[str, str] = field(default_factory=dict)


@dataclass
class MetricTable:
    """Metrics of one group for one version: a row per split, a column per metric. ``note``
    says who measured them (:data:`~hub.cards.schemas.PROVENANCE`)."""

    group: str
    title: str
    columns: list[str]
    rows: list[MetricRow]
    note: str = PROVENANCE["hub"]


def metric_tables(
    metrics: Iterable[Metric | MetricPublic], evaluation: dict[str, Any] | None = None
) -> list[MetricTable]:
    """The version's metrics as one table per group (empty groups left out); ``how`` is the
    recipe's description of each split (``spec["evaluation"][split]``). Figures the publisher
    declared (``source="publisher"``) make one table of their own, after the hub's."""
    evaluation = evaluation if isinstance(evaluation, dict) else {}
    tables: dict[str, MetricTable] = {}
    rows: dict[tuple[str, str], MetricRow] = {}
    for m in metrics:
        declared = getattr(m, "source", "hub") == "publisher"
        group = "declared" if declared else metric_group(m.name)
        table = tables.get(group)
        if table is None:
            title = "Declared by the publisher" if declared else GROUP_TITLES[group]
            note = PROVENANCE["publisher" if declared else "hub"]
            table = tables[group] = MetricTable(group, title, [], [], note)
        if m.name not in table.columns:
            table.columns.append(m.name)
        row = rows.get((group, m.split))
        if row is None:
            how = evaluation.get(m.split) or evaluation.get(m.split.rsplit("_", 1)[0]) or ""
            row = rows[(group, m.split)] = MetricRow(m.split, how if isinstance(how, str) else "")
            table.rows.append(row)
        row.cells[m.name] = format_metric(m, with_name=False)
        if m.n is not None:
            row.n = max(row.n or 0, m.n)
        samples = getattr(m, "n_samples", None)
        if samples is not None:
            row.samples = max(row.samples or 0, samples)
    return [tables[g] for g in (*GROUPS, "declared") if g in tables]


def input_type_public(plugins: PluginRegistry | None, name: str) -> InputTypePublic:
    """The input type's description and example, or just its name when no plugin has it."""
    if plugins is None:
        return InputTypePublic(name=name)
    try:
        it = plugins.input_type(name)
    except PluginError:
        return InputTypePublic(name=name)
    return InputTypePublic(
        name=it.name, description=it.description, example=it.example, depict=it.depict is not None
    )


def usage(name: str, example: Any, *, base_url: str = DEFAULT_BASE_URL) -> UsagePublic:
    """A curl command and a Python snippet predicting ``example`` with model ``name``."""
    base = base_url.rstrip("/")
    body = json.dumps({"inputs": [example]}, ensure_ascii=False)
    curl = (
        f"curl -s -X POST {shlex.quote(f'{base}/v1/models/{name}/predict')} \\\n"
        "  -H 'content-type: application/json' \\\n"
        f"  -d {shlex.quote(body)}"
    )
    inputs = pprint.pformat([example], width=80, sort_dicts=False)
    python = (
        "from hub.client import HubClient\n\n"
        f"hub = HubClient({base!r})\n"
        f"result = hub.predict({name!r}, {inputs})\n"
        "print(result.version, result.outputs[0])\n"
    )
    return UsagePublic(curl=curl, python=python)


def pending_build(store: CatalogStore, name: str) -> dict[str, Any] | None:
    """The queued or running build of ``name`` that `hub serve --build` recorded, if any."""
    from hub.catalog.jobs import JobStore

    job = JobStore(store).build_of(name)
    if job is None:
        return None
    fraction = round(job.step / job.total, 3) if job.total else 0.0
    minutes = job.params.get("minutes")
    return {"state": job.state, "minutes": minutes, "fraction": fraction, "message": job.message}


def model_card(
    store: CatalogStore,
    name: str,
    *,
    plugins: PluginRegistry | None = None,
    base_url: str = DEFAULT_BASE_URL,
) -> ModelCard:
    """The card of model ``name``; with ``plugins``, an example input (the newest version's
    ``spec["example"]``, else its input type's), ready calls against ``base_url`` and each
    version's featurizer cost per input (:mod:`hub.cards.cost`)."""
    model = store.get_model(name)
    versions = store.list_versions(name)
    aliases = store.list_aliases(name)
    headline = headline_metric(versions[-1].metrics) if versions else None
    input_type = input_type_public(plugins, model.input_type)
    # A recipe may name an input its model is made for (spec["example"]): a reaction of its
    # own reaction space beats the input type's generic example, which may be out of domain.
    own = next((v.spec["example"] for v in reversed(versions) if "example" in v.spec), None)
    if own is not None:
        input_type = input_type.model_copy(update={"example": own})
    return ModelCard(
        **ModelPublic.of(model).model_dump(),
        latest_version=versions[-1].version if versions else None,
        build=None if versions else pending_build(store, name),
        versions=[
            VersionPublic.of(v, featurizer_cost=_cost(plugins, v, model))
            for v in reversed(versions)
        ],
        aliases=[AliasPublic.of(a) for a in aliases],
        headline=MetricPublic(**headline.__dict__) if headline else None,
        input=input_type,
        usage=usage(model.name, input_type.example, base_url=base_url),
        **_calling(plugins, versions[-1] if versions else None, model),
    )


def _cost(plugins: PluginRegistry | None, v: Version, model: ModelInfo) -> Any:
    """The version's featurizer cost (see :mod:`hub.cards.cost`)."""
    return featurizer_cost(
        plugins, v.spec.get("featurizer"), v.spec.get("input_type", model.input_type)
    )


def _calling(plugins: PluginRegistry | None, newest: Any, model: ModelInfo) -> dict[str, Any]:
    """The card's parameters, tasks and limits (see :mod:`hub.cards.params`)."""
    if plugins is None:
        return {}
    return {
        "parameters": prediction_parameters(plugins, newest) if newest is not None else [],
        "tasks": model_tasks(plugins, model),
        "limits": model_limits(plugins, newest, model.input_type),
    }
