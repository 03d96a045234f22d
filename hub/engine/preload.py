"""Dask worker preload (``dask worker --preload hub.engine.preload``, which ``hub worker
--scheduler`` passes): one thread per library, the hub and its plugins imported before the
first task, so a task never pays for TensorFlow's import."""

from __future__ import annotations

import os
from typing import Any

from hub.engine.cluster import WORKER_ENV

for _name, _value in WORKER_ENV.items():
    os.environ.setdefault(_name, _value)


def dask_setup(worker: Any) -> None:
    """Called by Dask when the worker starts: import the runtime and the plugins now."""
    from hub.plugins import load_plugins
    from hub.runtime import Runtime  # noqa: F401 - imported for its import time

    load_plugins()
