"""What a version's featurizer costs per input, for the model card (issue 17).

**Measured where the card is served, not at build time.** A version stores only its
featurizer's name and parameters; the featurizer is code, installed with its domain. What one
input costs to serve is therefore the cost of the featurizer code installed here, on this
machine: a figure written at build time would describe other code (featurizers get faster) on
another machine. So the card's figure is measured by the serving process the first time a card
with that featurizer (name and parameters) is asked for, kept for the life of the process, and
given with its basis: when, on what machine (CPU model, usable cores) and under what load
(the 1-minute load average), and how.

How: CPU time of the calling thread (``time.thread_time``, so a loaded machine's waiting does not
count, though a shared core's caches still do), one input at a time, the median. A featurizer
that measures itself says so with a ``cost_us`` attribute (µs per input) and may describe its
reference inputs in ``cost_basis`` (the chemistry featurizer: 16 drug-like molecules, each a
fresh copy, so nothing cached on a molecule is reused); any other is timed here on its input
type's example, parsed afresh for each of :data:`REPEATS` runs. A featurizer that sends large
batches to a process pool says from what batch size in ``parallel_threshold``: the card's figure
stays the cost on one core.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from hub.cards.schemas import FeaturizerCostPublic
from hub.plugins import PluginRegistry

log = logging.getLogger(__name__)
REPEATS = 5  # timed runs of the input type's example, for a featurizer without ``cost_us``

_costs: dict[str, FeaturizerCostPublic | None] = {}
_lock = threading.Lock()


@cache
def machine() -> str:
    """``CPU model, N cores`` (the cores this process may run on)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), model
            )
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return f"{model}, {cores} cores"


def featurizer_cost(
    plugins: PluginRegistry | None, featurizer: Mapping[str, Any] | None, input_type: str
) -> FeaturizerCostPublic | None:
    """The cost of the featurizer ``{"name", "params"}`` of a version, measured once per
    process and parameters (see the module); None when there is none or it cannot be built or
    timed here (the reason is logged)."""
    if plugins is None or not isinstance(featurizer, Mapping) or "name" not in featurizer:
        return None
    key = json.dumps(featurizer, sort_keys=True, default=str)
    with _lock:  # one measurement at a time: two would slow each other
        if key not in _costs:
            try:
                _costs[key] = _measure(plugins, featurizer, input_type)
            except Exception as exc:  # noqa: BLE001 - a card without the figure, not an error
                log.warning("featurizer cost of %s not measured: %s", featurizer["name"], exc)
                _costs[key] = None
        return _costs[key]


def _measure(
    plugins: PluginRegistry, featurizer: Mapping[str, Any], input_type: str
) -> FeaturizerCostPublic | None:
    f = plugins.featurizer(str(featurizer["name"])).build(**featurizer.get("params", {}))
    own = getattr(f, "cost_us", None)
    if own is not None:
        us = float(own)
        basis = str(getattr(f, "cost_basis", "measured by the featurizer itself"))
    else:
        it = plugins.input_type(input_type)
        if it.example is None:
            return None
        times = []
        for _ in range(REPEATS):
            obj = it.parse(it.example)
            t0 = time.thread_time()
            f(obj)
            times.append(time.thread_time() - t0)
        us = statistics.median(times) * 1e6
        basis = f"median of {REPEATS} runs on the input type's example"
    threshold = getattr(f, "parallel_threshold", None)
    return FeaturizerCostPublic(
        ms_per_input=float(f"{us / 1e3:.3g}"),
        basis=f"{basis}; CPU time of one thread, parse not included",
        machine=machine(),
        load_average=round(os.getloadavg()[0], 2),
        measured_at=datetime.now(UTC).replace(microsecond=0),
        parallel_threshold=int(threshold) if isinstance(threshold, int) else None,
    )
