"""The plugin records a domain fills in and hands to the hub (see :mod:`hub.plugins`).

A domain is one :class:`Domain` record, published in the ``hub.domains`` entry-point group::

    [project.entry-points."hub.domains"]
    toys = "toy_domain:domain"

Its parts: :class:`InputType` (raw JSON to a domain object), :class:`Featurizer`,
:class:`Simulator`, :class:`ModelKind` (with :class:`LoadContext` and a :class:`Predictor`),
:class:`Annotator`, :class:`Task` (a job) and :class:`Recipe` (with :class:`RecipeContext` and
:class:`RecipeResult`). :func:`load_plugins` gives the registry of every installed domain, for
a recipe that builds on another plugin's parts (a simulator by name).
"""

from hub.plugins import (
    GROUP,
    Annotator,
    Domain,
    Featurizer,
    InputType,
    LoadContext,
    ModelKind,
    PluginRegistry,
    Predictor,
    Recipe,
    RecipeContext,
    RecipeResult,
    Simulator,
    Task,
    Trainer,
    TrainingTable,
    load_plugins,
)

__all__ = [
    "GROUP",
    "Annotator",
    "Domain",
    "Featurizer",
    "InputType",
    "LoadContext",
    "ModelKind",
    "PluginRegistry",
    "Predictor",
    "Recipe",
    "RecipeContext",
    "RecipeResult",
    "Simulator",
    "Task",
    "Trainer",
    "TrainingTable",
    "load_plugins",
]
