"""``hub publish``: a trained Keras model into the local catalog (checked, loaded in a sandbox,
measured on the evaluation set, then registered) or into a running hub (``--url``, with
``--api-key``); registered in :mod:`hub.cli` by :func:`register`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli_support import console, err, fail
from hub.errors import HubError


def _metric(text: str) -> dict[str, Any]:
    """``rmse=0.55`` or ``rmse=0.55@test``: a figure the publisher declares."""
    name, _, rest = text.partition("=")
    value, _, split = rest.partition("@")
    try:
        return {"name": name.strip(), "value": float(value), "split": split.strip() or "test"}
    except ValueError as exc:
        raise typer.BadParameter(f"--metric {text!r}: use name=value or name=value@split") from exc


def publish(
    name: Annotated[str, typer.Argument(help="the model (created if new): team.slug")],
    model: Annotated[Path, typer.Argument(help="the Keras 3 model file (.keras)")],
    input_type: Annotated[str, typer.Option(help="what the model takes, e.g. smiles")],
    featurizer: Annotated[str, typer.Option(help="e.g. chemistry.rdkit2d_morgan")],
    output: Annotated[
        list[str], typer.Option(help="an output as name:unit, in the model's column order")
    ],
    featurizer_params: Annotated[
        str, typer.Option(help="the featurizer's parameters, JSON: '{\"n_bits\": 2048}'")
    ] = "{}",
    task: Annotated[
        str, typer.Option(help="property-regression or property-classification")
    ] = "property-regression",
    uncertainty: Annotated[
        str | None, typer.Option(help="last_column: the model's last column is a std")
    ] = None,
    title: Annotated[str | None, typer.Option(help="the card's title")] = None,
    description: Annotated[str | None, typer.Option(help="intended use and limits")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="a tag (repeat for more)")] = None,
    visibility: Annotated[
        str | None, typer.Option(help="public, private or group:<name> (new: private)")
    ] = None,
    evaluation: Annotated[
        Path | None, typer.Option(help="CSV the hub measures the model on")
    ] = None,
    training_inputs: Annotated[
        Path | None, typer.Option(help="training inputs, one a line (.smi): the domain")
    ] = None,
    input_column: Annotated[
        str | None, typer.Option(help="the evaluation CSV's inputs column (default: input type)")
    ] = None,
    metric: Annotated[
        list[str] | None, typer.Option(help="a declared figure: name=value[@split]")
    ] = None,
    url: Annotated[str | None, typer.Option(help="a running hub; default: local")] = None,
) -> None:
    """Publish MODEL as the next version of NAME: the hub checks the file, loads it in safe
    mode in a separate process, measures it on --evaluation, fits the applicability domain to
    --training-inputs, and registers it (it becomes 'latest')."""
    try:
        params = json.loads(featurizer_params)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"--featurizer-params is not JSON: {exc}") from exc
    fields: dict[str, Any] = dict(
        input_type=input_type, featurizer=featurizer, outputs=list(output),
        featurizer_params=params, task=task, uncertainty=uncertainty, title=title,
        description=description, tags=tag or None, visibility=visibility,
        metrics=[_metric(m) for m in metric or ()], evaluation=evaluation,
        training_inputs=training_inputs, input_column=input_column,
    )  # fmt: skip
    try:
        if url:
            from hub.client import HubClient

            with HubClient(url) as client:
                result = client.publish(name, model, **fields)
            ref, metrics, report = result["ref"], result["detail"]["metrics"], result["report"]
        else:
            import hub

            with console.status(f"checking and loading {model.name} in a sandbox"):
                done = hub.publish(name, model, **fields)
            ref, report = done.ref, done.report
            metrics = [m.__dict__ for m in done.version.metrics]
    except HubError as exc:
        fail(exc)
    _print(ref, metrics, report)


def _print(ref: str, metrics: list[dict[str, Any]], report: dict[str, Any]) -> None:
    box = report.get("sandbox", {})
    console.print(
        f"[green]registered[/green] {ref} (sandbox: load {box.get('load_s', 0):.2f} s, "
        f"{box.get('wall_s', 0):.1f} s in all)"
    )
    for key in ("evaluation", "training_inputs"):
        part = report.get(key)
        if part:
            console.print(f"  {key}: {part['usable']} usable, {part['skipped']} left out")
            for row in part.get("rows", [])[:20]:
                err.print(f"    row {row['row']}: {row['input'][:40]!r} {row['code']}")
    for m in metrics:
        who = "hub" if m.get("source", "hub") == "hub" else "declared"
        console.print(f"  {m['name']:<22} {m['split']:<11} {m['value']:.4g}  ({who})")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``hub`` command."""
    app.command("publish")(publish)
