"""The publisher's manifest: what a model is and how to feed it, checked against a schema.

``ModelCreate`` is the body of ``POST /v1/models`` (a model without versions); ``Manifest``
describes one uploaded version (the ``manifest`` field of ``POST /v1/models/{name}/versions``,
the keyword arguments of ``hub.publish``). Both forbid unknown fields, bound every length and
refuse markup in free text (``<script>``, ``<img ...>``, ``</b>``, ``<!--``): the card shows
the text as written, and nothing a publisher types should be read as HTML by anyone's
browser. A violation is a 422 naming the field (:func:`manifest_error`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hub.auth.policy import check_visibility
from hub.errors import HubError, InvalidRequest

# "<" followed by a tag's first character: markup, not a comparison such as "IC50 < 1 uM"
_MARKUP = re.compile(r"<\s*[A-Za-z/!?]|javascript:", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MODEL_NAME = r"^[a-z0-9][a-z0-9_\-]*(\.[a-z0-9][a-z0-9_\-]*)+$"  # team.slug (at least one dot)
IDENT = r"^[A-Za-z][A-Za-z0-9_.\-]*$"
MAX_PARAMS_CHARS = 16_384  # featurizer parameters, as JSON
TASKS = ("property-regression", "property-classification")


def plain_text(value: str) -> str:
    """Text without markup or control characters (tabs and newlines are fine)."""
    if _MARKUP.search(value):
        raise ValueError("markup is not allowed here (no HTML tags, no 'javascript:')")
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed here")
    _utf8(value)
    return value


def _utf8(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a JSON escape such as "\udfff"
        raise ValueError("not valid Unicode (a lone surrogate)") from exc


def _visibility(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_visibility(value)
    except HubError as exc:
        raise ValueError(exc.message) from exc


Text = Annotated[str, AfterValidator(plain_text)]
Title = Annotated[str, Field(max_length=200), AfterValidator(plain_text)]
Description = Annotated[str, Field(max_length=5000), AfterValidator(plain_text)]
Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_.\-]*$")]
Ident = Annotated[str, Field(min_length=1, max_length=100, pattern=IDENT)]
Visibility = Annotated[str | None, AfterValidator(_visibility)]


class OutputDecl(BaseModel):
    """One output column of the model: ``name``, its ``unit`` (``log10(mol/L)``; ``"1"`` or
    ``probability`` for classifiers) and what it means."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=IDENT)]
    unit: Annotated[str, Field(max_length=64), AfterValidator(plain_text)] = ""
    description: Annotated[str, Field(max_length=500), AfterValidator(plain_text)] = ""


class DeclaredMetric(BaseModel):
    """A figure the publisher measured themselves: shown on the card as "declared by the
    publisher", apart from what the hub measures."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
    value: float
    split: Annotated[str, Field(min_length=1, max_length=64, pattern=IDENT)] = "test"
    std: float | None = Field(None, ge=0)
    n: int | None = Field(None, ge=1, le=10_000, description="number of splits")
    n_samples: int | None = Field(None, ge=1, le=10**9, description="held-out samples")

    @model_validator(mode="after")
    def _finite(self) -> DeclaredMetric:
        for key in ("value", "std"):
            v = getattr(self, key)
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{key} must be a finite number")
        return self


class ModelCreate(BaseModel):
    """``POST /v1/models``: a new model, owned by the caller, private unless ``visibility``
    says otherwise; versions are then uploaded to ``/v1/models/{name}/versions``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "acme.herg-pic50",
                    "title": "hERG pIC50",
                    "description": "hERG inhibition of drug-like molecules",
                    "input_type": "smiles",
                    "outputs": [{"name": "pIC50", "unit": "-log10(M)"}],
                    "tags": ["herg", "toxicity"],
                    "visibility": "group:chem-team",
                }
            ]
        },
    )

    name: Annotated[str, Field(min_length=3, max_length=200, pattern=MODEL_NAME)]
    title: Title = ""
    description: Description = ""
    tags: Annotated[list[Tag], Field(max_length=20)] = Field(default_factory=list)
    input_type: Ident
    outputs: Annotated[list[OutputDecl], Field(min_length=1, max_length=32)]
    task: Literal["property-regression", "property-classification"] = "property-regression"
    visibility: Visibility = "private"

    @field_validator("outputs")
    @classmethod
    def _unique(cls, outputs: list[OutputDecl]) -> list[OutputDecl]:
        return _check_unique(outputs)


class Manifest(BaseModel):
    """One uploaded version: the input type and featurizer the model was trained on (by name,
    with the featurizer's parameters), its outputs (in the model's column order; with
    ``uncertainty="last_column"`` one more column, a standard deviation in the unit of the
    single output), the task, the figures the publisher declares, and optionally the model's
    card fields (``title``, ``description``, ``tags``, ``visibility``; a new model takes them,
    an existing one is updated). ``input_column`` names the evaluation CSV's column of inputs
    (default: the input type's name); the targets are in the columns named by the outputs."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=200, pattern=MODEL_NAME)] | None = None
    title: Title | None = None
    description: Description | None = None
    tags: Annotated[list[Tag], Field(max_length=20)] | None = None
    visibility: Visibility = None
    input_type: Ident
    featurizer: Ident
    featurizer_params: dict[str, Any] = Field(default_factory=dict)
    outputs: Annotated[list[OutputDecl], Field(min_length=1, max_length=32)]
    task: Literal["property-regression", "property-classification"] = "property-regression"
    uncertainty: Literal["last_column"] | None = None
    metrics: Annotated[list[DeclaredMetric], Field(max_length=50)] = Field(default_factory=list)
    input_column: Annotated[str, Field(max_length=100), AfterValidator(plain_text)] | None = None
    version_description: Description = ""

    @field_validator("outputs")
    @classmethod
    def _unique(cls, outputs: list[OutputDecl]) -> list[OutputDecl]:
        return _check_unique(outputs)

    @field_validator("featurizer_params")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
        if len(text) > MAX_PARAMS_CHARS:
            raise ValueError(f"over {MAX_PARAMS_CHARS} characters of JSON")
        _utf8(text)
        return value

    @field_validator("uncertainty")
    @classmethod
    def _one_output(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value == "last_column" and len(info.data.get("outputs") or ()) != 1:
            raise ValueError("uncertainty 'last_column' needs exactly one output")
        if value is not None and info.data.get("task") == "property-classification":
            raise ValueError("a classifier outputs a probability, with no uncertainty column")
        return value

    @model_validator(mode="after")
    def _classifier(self) -> Manifest:
        if self.task == "property-classification" and len(self.outputs) != 1:
            raise ValueError("a classifier has one output, a probability")
        return self

    @property
    def n_columns(self) -> int:
        """How many columns the model must output."""
        return len(self.outputs) + (1 if self.uncertainty == "last_column" else 0)


def _check_unique(outputs: list[OutputDecl]) -> list[OutputDecl]:
    names = [o.name for o in outputs]
    if len(set(names)) != len(names):
        raise ValueError("output names must be unique")
    return outputs


def manifest_error(exc: ValidationError, prefix: str = "manifest") -> InvalidRequest:
    """The 422 of a manifest that fails its schema, naming the first bad field
    (``manifest.outputs.0.unit``) and listing up to 20 problems."""
    errors = [
        {"loc": [prefix, *e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type")}
        for e in exc.errors(include_url=False, include_input=False)[:20]
    ]
    first = errors[0] if errors else {"loc": [prefix], "msg": "invalid"}
    where = ".".join(str(p) for p in first["loc"])
    return InvalidRequest(
        f"{where}: {first['msg']}", code="invalid_manifest", field=where, errors=errors
    )


def parse_manifest(data: str | bytes | dict[str, Any]) -> Manifest:
    """A :class:`Manifest` from JSON text or a dict; 422 naming the field otherwise."""
    if isinstance(data, str | bytes):
        if len(data) > 256 * 1024:
            raise InvalidRequest("manifest is over 256 KiB", code="invalid_manifest")
        try:
            data = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidRequest(
                f"manifest is not JSON: {exc}", code="invalid_manifest", field="manifest"
            ) from exc
    if not isinstance(data, dict):
        raise InvalidRequest("manifest must be a JSON object", code="invalid_manifest")
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise manifest_error(exc) from exc
