"""Publishing a trained Keras model (issue 15): ``hub.publish``, ``hub publish`` and
``POST /v1/models/{name}/versions`` share one flow (:mod:`hub.publishing.flow`).

Before anything is registered the hub checks the upload statically
(:mod:`~hub.publishing.inspect`: a ``.keras`` zip of three known members whose config names
only allowed layers), then loads and runs it in a separate process with a time and memory
limit (:mod:`~hub.publishing.sandbox`), checks its input width and output count against the
declared featurizer and outputs, and measures it on the evaluation set itself
(:mod:`~hub.publishing.evaluate`). Nothing uploaded is imported or unpickled in the calling
process. The manifest's schema is :mod:`~hub.publishing.manifest`.

This package imports nothing heavy at import time (``python -m hub.publishing.sandbox`` starts
from it): ``publish`` is loaded on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ModelRefused", "featurize", "publish"]


def __getattr__(name: str) -> Any:  # PEP 562: keep the sandbox's start light
    if name in ("publish", "featurize"):
        from hub.publishing import flow

        return getattr(flow, name)
    if name == "ModelRefused":
        from hub.publishing.errors import ModelRefused

        return ModelRefused
    raise AttributeError(f"module 'hub.publishing' has no attribute {name!r}")
