"""Re-exports :mod:`hub.cards.params` (what a card says about calling a model)."""

from hub.cards.params import (
    model_limits,
    model_tasks,
    parameters_of,
    prediction_parameters,
)

__all__ = ["model_limits", "model_tasks", "parameters_of", "prediction_parameters"]
