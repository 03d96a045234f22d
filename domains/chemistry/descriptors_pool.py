"""Featurize large batches of molecules on every core, in order, each failure in its slot.

One process pool per parent process (``spawn``, started on first use, sized to the cores this
process may run on, or ``HUB_FEATURIZE_PROCESSES``), kept warm: each worker imports RDKit once
and keeps the featurizers it has built, by their parameters. Only text crosses to the workers
(the featurizer's parameters and the molecules' input strings); each worker parses and
standardises (:func:`domains.chemistry.molecules.parse_molecule`) and featurizes exactly as the
parent would, so a vector is the same bit for bit whichever process made it. Back come the
float32 vectors, or the item's error (its code, message and detail, rebuilt as an
:class:`~hub.sdk.ItemError`; an unforeseen exception as :class:`WorkerFailure`). A worker that
dies (RDKit crashing on an input) breaks the pool: the batch's items not done by then each get a
:class:`WorkerFailure` (the call itself returns, in order), and the next batch starts a fresh
pool (tried by killing a worker mid-batch: 450 of 600 items failed, the next batch was whole).

Threads would not help: most of the descriptors' time is spent in Python (measured in
docs/featurizer.md: 2 threads ran at 1.0x one thread's rate).
"""

from __future__ import annotations

import atexit
import json
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache
from typing import Any

from hub.sdk import ItemError

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_size = 0


class WorkerFailure(RuntimeError):
    """An unforeseen exception in a featurizing worker, reported on its item."""


def cores() -> int:
    """The number of worker processes: ``HUB_FEATURIZE_PROCESSES``, else the usable cores."""
    env = os.environ.get("HUB_FEATURIZE_PROCESSES")
    if env:
        return max(1, int(env))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def can_pool() -> bool:
    """False in a daemonic process (a Dask nanny's worker, a process-pool child), which may not
    start children: there a batch is featurized in process (the cluster already runs one
    worker per core)."""
    return not multiprocessing.current_process().daemon


def pool(processes: int | None = None) -> ProcessPoolExecutor:
    """The warm pool, started (or resized) on first use."""
    global _pool, _size
    size = processes or cores()
    with _lock:
        if _pool is None or _size != size:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            ctx = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(size, mp_context=ctx, initializer=_warm)
            _size = size
            for f in [_pool.submit(_ping) for _ in range(size)]:
                f.result()
        return _pool


@atexit.register
def shutdown() -> None:
    """Stop the pool's workers (at exit, or to free the cores)."""
    global _pool, _size
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
        _pool, _size = None, 0


def _warm() -> None:
    import domains.chemistry.featurizers  # noqa: F401 - RDKit and the descriptor tables, once


def _ping() -> int:
    return os.getpid()


@cache
def _built(params_json: str) -> Any:
    from domains.chemistry.featurizers import RDKitFeaturizer

    return RDKitFeaturizer(**json.loads(params_json))


def _work(params_json: str, inputs: list[str], molecules: bool) -> list[tuple[str, Any]]:
    """In a worker: ``("ok", vector)`` (with ``molecules``: ``("ok", (vector, the standardised
    molecule as RDKit binary, its SMILES, input, removed, neutralized))``),
    ``("item", (code, message, detail))`` or ``("fail", text)`` for each input, in order."""
    from domains.chemistry.molecules import parse_molecule

    featurize = _built(params_json)
    out: list[tuple[str, Any]] = []
    for raw in inputs:
        try:
            m = parse_molecule(raw)
            v = featurize(m)
            if molecules:
                v = (v, m.mol.ToBinary(), m.smiles, m.input, m.removed, m.neutralized)
            out.append(("ok", v))
        except ItemError as exc:
            out.append(("item", (exc.code, exc.message, exc.detail)))
        except Exception as exc:  # noqa: BLE001 - reported on its item, the worker lives on
            out.append(("fail", f"{type(exc).__name__}: {exc}"))
    return out


def _result(kind: str, value: Any) -> Any:
    if kind == "ok":
        if isinstance(value, tuple):
            from rdkit import Chem

            from domains.chemistry.molecules import Molecule

            v, binary, smiles, text, removed, neutralized = value
            return Molecule(Chem.Mol(binary), smiles, text, removed, neutralized), v
        return value
    if kind == "item":
        code, message, detail = value
        return ItemError(message, code=code, **detail)
    return WorkerFailure(value)


def featurize_inputs(
    params: dict[str, Any],
    inputs: Sequence[str],
    *,
    processes: int | None = None,
    molecules: bool = False,
) -> list[Any]:
    """Parse, standardise and featurize each input string with
    ``RDKitFeaturizer(**params)`` across the pool; results in input order: the vector (with
    ``molecules``: ``(Molecule, vector)``, the molecule rebuilt from RDKit's binary form, for
    annotators and descriptions) or the item's exception. Chunks of about a quarter of a
    batch's share per process keep the cores busy to the end without a round trip per
    molecule."""
    if not inputs:
        return []
    p = pool(processes)
    size = processes or cores()
    chunk = max(8, min(256, -(-len(inputs) // (4 * size))))
    key = json.dumps(params, sort_keys=True)
    starts = range(0, len(inputs), chunk)
    futures = [p.submit(_work, key, list(inputs[i : i + chunk]), molecules) for i in starts]
    out: list[Any] = []
    broken = False
    for i, f in zip(starts, futures, strict=True):
        n = len(inputs[i : i + chunk])
        try:
            out += [_result(kind, v) for kind, v in f.result()]
        except BrokenProcessPool:  # a worker died: the chunks not done by then fail
            broken = True
            out += [WorkerFailure("the featurizing process died on this batch")] * n
        except Exception as exc:  # noqa: BLE001 - the chunk's failure, on each of its items
            out += [WorkerFailure(f"{type(exc).__name__}: {exc}")] * n
    if broken:
        shutdown()  # the next batch starts a fresh pool
    return out
