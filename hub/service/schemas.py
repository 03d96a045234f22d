"""Public request and response shapes of the HTTP API, one schema per direction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.cards.schemas import (  # noqa: F401 - the card's shapes, re-exported for the routes
    PROVENANCE,
    AliasPublic,
    DatasetPublic,
    InputTypePublic,
    MetricPublic,
    ModelCard,
    ModelPublic,
    ModelsPublic,
    OutputPublic,
    ParameterPublic,
    PlotPublic,
    TaskPublic,
    UsagePublic,
    VersionPublic,
)

# Integers a client sends are bounded: a database cannot bind more than 64 bits (B1)
MAX_INT = 2**31 - 1
VersionNumber = Annotated[int, Path(ge=1, le=MAX_INT, description="a version number")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="results to skip")]
# Path parameters, with the shapes the catalog accepts (a name that cannot exist is a 422)
_NAME = r"[a-z0-9][a-z0-9_.\-]{0,199}"
_ALIAS = r"[A-Za-z0-9_.\-]{1,100}"
ModelName = Annotated[
    str, Path(pattern=rf"^{_NAME}$", examples=["chemistry.solubility"], description="model name")
]
ModelRef = Annotated[
    str,
    Path(
        pattern=rf"^{_NAME}(@{_ALIAS}|:[0-9]{{1,9}})?$",
        examples=["chemistry.solubility", "physics.emt@latest", "physics.emt:1"],
        description="model reference: name, name@alias or name:3",
    ),
]
AliasName = Annotated[
    str, Path(pattern=rf"^{_ALIAS}$", examples=["production"], description="alias name")
]
# One raw input: a string (SMILES, formula, extxyz...) or a JSON object (atoms, reaction roles)
RawInput = Annotated[
    str | list[Any] | dict[str, Any],
    Field(description="One raw input of this type: a string (a SMILES...), a list or an object"),
]


class DepictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"input": "CCO"}]})

    input: RawInput


class AliasUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"version": 1}]})

    version: int = Field(ge=1, le=MAX_INT)


class PredictRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"inputs": ["CCO", "c1ccccc1O", "not-a-smiles"], "params": {}}]
        },
    )

    inputs: list[Any] = Field(description="Raw inputs (SMILES strings, atoms objects, ...)")
    params: dict[str, Any] = Field(default_factory=dict)


class ItemErrorPublic(BaseModel):
    code: str
    message: str
    detail: dict[str, Any] | None = None


class PredictResponse(BaseModel):
    model: str
    version: int
    outputs: list[dict[str, Any]] = Field(
        description="One entry per input, in order: {value, unit, ...} or {error: {code, message}}"
    )


class ErrorResponse(BaseModel):
    error: ItemErrorPublic
