"""``hub models show`` and ``hub models params``: a model's card, whole as JSON or as the
tables of what a prediction and each job of the model take (the declared parameters of
:mod:`hub.params`: types, defaults, bounds). From the local catalog, or from the hub at
``--url``. Registered in :mod:`hub.cli` by :func:`register`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from hub.cli_support import console, fail
from hub.errors import HubError

Url = Annotated[str | None, typer.Option(help="a running hub; default: local")]


def card_of(name: str, url: str | None) -> dict[str, Any]:
    """The card of model ``name`` as plain JSON data (the same from the catalog and over HTTP)."""
    if url:
        from hub.client import HubClient

        with HubClient(url) as client:
            return client.model(name)
    from hub.cards.card import model_card
    from hub.catalog import CatalogStore
    from hub.config import load_settings
    from hub.plugins import load_plugins

    store = CatalogStore(load_settings().database_url)
    return json.loads(model_card(store, name, plugins=load_plugins()).model_dump_json())


def show(name: str, url: Url = None) -> None:
    """Print a model card as JSON (from the local catalog, or from the hub at --url)."""
    try:
        card = card_of(name, url)
    except HubError as exc:
        fail(exc)
    console.print_json(json.dumps(card))


def _bounds(p: dict[str, Any]) -> str:
    if p.get("enum"):
        return " | ".join(map(str, p["enum"]))
    low = p.get("minimum", p.get("exclusive_minimum"))
    high = p.get("maximum", p.get("exclusive_maximum"))
    if low is None and high is None:
        return ""
    left = "(" if p.get("exclusive_minimum") is not None else "["
    right = ")" if p.get("exclusive_maximum") is not None else "]"
    return f"{left}{'' if low is None else low}, {'' if high is None else high}{right}"


def _table(title: str, parameters: list[dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("name", "type", "default", "range", "meaning"):
        table.add_column(column)
    for p in parameters:
        default = "" if p.get("default") is None else json.dumps(p["default"])
        table.add_row(p["name"], p["type"], default, _bounds(p), p.get("description", ""))
    return table


def params(name: str, url: Url = None) -> None:
    """List the parameters model NAME takes: a prediction's (`hub predict --params`, the
    `params` of POST /v1/models/NAME/predict) and each job's (POST /v1/jobs)."""
    try:
        card = card_of(name, url)
    except HubError as exc:
        fail(exc)
    if card.get("parameters"):
        console.print(_table(f"{card['name']}: prediction parameters", card["parameters"]))
    else:
        console.print(f"{card['name']}: a prediction takes no parameters")
    for task in card.get("tasks") or []:
        if task.get("parameters"):
            console.print(_table(f"job {task['name']}: {task['description']}", task["parameters"]))


def trainer_tables() -> list[Table]:
    """One table per installed trainer that declares its parameters (``hub train --params``)."""
    from hub.cards.params import parameters_of
    from hub.plugins import load_plugins

    plugins = load_plugins()
    tables = []
    for domain in plugins.domains.values():
        for trainer in domain.trainers:
            if trainer.params_model is None:
                continue
            rows = [p.model_dump() for p in parameters_of(trainer.params_model.model_json_schema())]
            title = f"trainer {trainer.name} ({trainer.input_type}): hub train --params"
            tables.append(_table(title, rows))
    return tables


def register(models_app: typer.Typer) -> None:
    models_app.command("show")(show)
    models_app.command("params")(params)
