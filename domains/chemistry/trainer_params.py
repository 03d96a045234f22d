"""The declared parameters of the chemistry trainer (``hub train``, ``POST
/v1/models/{name}/train``): every key of :data:`domains.chemistry.recipes.DEFAULT_PARAMS`,
typed and bounded, with the same defaults (a test holds them equal).

The hub checks a request's ``params`` against :class:`PropertyTrainingParams` before the job
is queued (one 422 shape, ``detail.errors`` naming each bad parameter) and lists them in
``/openapi.json``. The bounds keep a job sane (an ensemble has at least two members, so it has
a spread to calibrate); the job time limit bounds the cost.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from domains.chemistry.descriptors import rdkit_descriptors
from hub.sdk.params import Params


def _list(value: Any) -> Any:
    """A tuple (from Python: ``hidden=(64, 32)``) as a list; anything else as it is."""
    return list(value) if isinstance(value, tuple) else value


Finite = Annotated[float, Field(allow_inf_nan=False)]
Width = Annotated[int, Field(ge=1, le=4096)]
Name = Annotated[str, Field(min_length=1, max_length=100)]


class PropertyTrainingParams(Params):
    """How :data:`domains.chemistry.trainer.PROPERTY_TRAINER` featurizes, fits and evaluates."""

    # featurizer
    radius: int = Field(2, ge=0, le=6, description="Morgan radius, bonds")
    n_bits: int = Field(
        0, ge=0, le=8192, description="Morgan count bits, features (0: descriptors only)"
    )
    descriptors: Annotated[list[Name], BeforeValidator(_list), Field(max_length=1000)] | (
        Literal["all"] | None
    ) = Field(
        None,
        description='RDKit 2D descriptors by name, a list; "all"; null: the default set '
        "(all but the slow ones and BCUT2D)",
    )
    # Keras MLP ensemble
    hidden: Annotated[list[Width], BeforeValidator(_list)] = Field(
        [512, 128], min_length=1, max_length=8, description="hidden layer widths, units"
    )
    dropout: Finite = Field(0.1, ge=0, le=0.9, description="dropout after each layer, fraction")
    learning_rate: Finite = Field(1e-3, gt=0, le=1, description="AdamW learning rate, per step")
    weight_decay: Finite | None = Field(
        1e-4, ge=0, le=1, description="AdamW weight decay, per step (null: Adam)"
    )
    epochs: int = Field(300, ge=1, le=5000, description="training epochs at most, epochs")
    patience: int = Field(
        25, ge=1, le=1000, description="early stopping: epochs without a better validation loss"
    )
    batch_size: int = Field(64, ge=1, le=8192, description="batch size, rows")
    members: int = Field(
        5, ge=2, le=32, description="Keras ensemble members, networks (the spread needs 2)"
    )
    # evaluation
    n_splits: int = Field(5, ge=1, le=20, description="seeded random 80/10/10 splits, splits")
    scaffold_split: bool = Field(True, description="evaluate on a scaffold split too")
    cluster_splits: int = Field(
        3, ge=0, le=10, description="seeded Butina cluster splits evaluated, splits (0: none)"
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="first random seed of the splits")
    # model family
    family: Literal["mlp", "trees", "blend"] = Field(  # hub.learning.families.FAMILIES
        "mlp",
        description="mlp: Keras MLP ensemble; trees: LightGBM ensemble; blend: both, averaged",
    )
    blend_weight: Finite = Field(
        0.5, ge=0, le=1, description="blend: weight of the trees in the average, fraction"
    )
    # LightGBM ensemble (trees, blend)
    tree_members: int = Field(
        5, ge=2, le=32, description="LightGBM ensemble members, boosters (the spread needs 2)"
    )
    tree_learning_rate: Finite = Field(
        0.03, gt=0, le=1, description="LightGBM learning rate (shrinkage), per round"
    )
    tree_leaves: int = Field(15, ge=2, le=1024, description="LightGBM leaves per tree, leaves")
    tree_min_child: int = Field(
        10, ge=1, le=10000, description="LightGBM rows per leaf at least, rows"
    )
    tree_subsample: Finite = Field(
        0.8, gt=0, le=1, description="LightGBM rows bagged each round, fraction"
    )
    tree_colsample: Finite = Field(
        0.3, gt=0, le=1, description="LightGBM features per tree, fraction"
    )
    tree_lambda: Finite = Field(1.0, ge=0, le=1000, description="LightGBM L2 regularisation")
    tree_rounds: int = Field(4000, ge=1, le=100000, description="LightGBM rounds at most, rounds")
    tree_stop: int = Field(
        150, ge=1, le=10000, description="early stopping: rounds without a better validation loss"
    )

    @field_validator("descriptors")
    @classmethod
    def _known_descriptors(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, list):
            unknown = [d for d in value if d not in rdkit_descriptors()]
            if unknown:
                raise ValueError(f"unknown RDKit descriptors: {unknown[:10]}")
            if not value and info.data.get("n_bits") == 0:
                raise ValueError("no features: give descriptors or n_bits > 0")
        return value
