"""The chemistry trainer of user tables (``hub train``): a molecular property, regression or
classification, learned exactly as the built-in property models are.

The hub reads and checks the user's CSV (standardised SMILES, invalid rows and duplicates
reported: :mod:`hub.training`); here the molecules are featurized with the built-ins'
featurizer and handed to :func:`domains.chemistry.recipes.fit_property`: seeded random and
scaffold splits, an ensemble with calibrated uncertainty, the Tanimoto applicability domain,
the held-out plots. A classifier serves the probability of class 1 (unit ``probability``)
with the calibrated spread of its members as the uncertainty. The parameters are declared by
:class:`domains.chemistry.trainer_params.PropertyTrainingParams`.
"""

from __future__ import annotations

import numpy as np

from domains.chemistry.recipes import DEFAULT_PARAMS, featurize_table, fit_property
from domains.chemistry.trainer_params import PropertyTrainingParams
from hub.sdk import DatasetInfo, RecipeContext, RecipeResult, Trainer, TrainingTable


def train_from_table(ctx: RecipeContext, table: TrainingTable) -> RecipeResult:
    """Featurize the table's molecules (``ctx.params``: the recipes' parameters) and run the
    property pipeline on them."""
    ctx.progress(0.0, f"featurizing {len(table.inputs)} molecules")
    t = featurize_table(list(table.inputs), np.asarray(table.y, np.float32), ctx.params, table.rows)
    dataset = DatasetInfo(name=table.name, sha256=table.sha256, size=table.rows)
    return fit_property(ctx, t, table.output, dataset, task=table.task)


PROPERTY_TRAINER = Trainer(
    name="chemistry.property",
    input_type="smiles",
    description=(
        "A molecular property from a table of SMILES and values (or 0/1 labels): RDKit 2D "
        "descriptors, an ensemble of Keras MLPs with calibrated uncertainty, seeded random "
        "and scaffold splits, a Tanimoto applicability domain"
    ),
    train=train_from_table,
    tasks=("regression", "classification"),
    params=DEFAULT_PARAMS,
    params_model=PropertyTrainingParams,
)
