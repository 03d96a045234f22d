"""Loads model versions once, keeps them warm and runs batches of inputs.

``Runtime`` and ``Prediction`` (from :mod:`hub.runtime.core`) are imported on first use, so
that the light per-item helpers (:mod:`hub.runtime.items`, re-exported by :mod:`hub.sdk`) do
not pull in the catalog and its database drivers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.runtime.core import Prediction, Runtime

__all__ = ["Prediction", "Runtime"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from hub.runtime import core

        return getattr(core, name)
    raise AttributeError(f"module 'hub.runtime' has no attribute {name!r}")
