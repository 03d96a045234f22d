"""Loads model versions once, keeps them warm and runs batches of inputs."""

from hub.runtime.core import Prediction, Runtime

__all__ = ["Prediction", "Runtime"]
