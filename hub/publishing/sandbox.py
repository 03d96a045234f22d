"""Load and run an uploaded model in a separate process, with a wall-time and a memory limit.

The server never loads an upload itself before it has passed here. :func:`run_in_sandbox`
writes the checked ``.keras`` bytes and a float32 feature matrix (``np.save``,
``allow_pickle=False``) into a fresh private folder and runs ``python -I -m
hub.publishing.sandbox FOLDER MEMORY_MB`` there: isolated mode (no ``PYTHONPATH``, no user
site, the folder not on ``sys.path``), a minimal environment, ``HOME`` in the folder, CPU
only, one thread per pool. The child first limits its own address space (``RLIMIT_AS``) and
file sizes, then registers the hub's layers, loads the model with
``keras.saving.load_model(path, compile=False, safe_mode=True)``, checks every layer's class
again, reports the input width and the output count, and runs the model on the matrix when
the width fits. The parent reads back ``result.json`` and ``outputs.npy``
(``allow_pickle=False``); a child past its wall time is killed.

Measured on the 2-core machine: a start costs 6 to 15 s (importing TensorFlow), the load of
a small dense model 0.1 to 0.3 s (``result.load_s``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hub.publishing.errors import ModelRefused

RESULT = "result.json"
MODEL = "model.keras"
FEATURES = "features.npy"
OUTPUTS = "outputs.npy"
MAX_FILE_BYTES = 512 * 1024 * 1024  # RLIMIT_FSIZE of the child
# at most this many sandboxes at once in one process (each imports TensorFlow: ~0.7 GB)
_SLOTS = threading.BoundedSemaphore(int(os.environ.get("HUB_SANDBOX_SLOTS", "1")))


@dataclass(frozen=True)
class SandboxResult:
    """What the child reported: the model's input width and output columns, its layer
    classes, the outputs on the given matrix (None when the width did not fit), timings."""

    input_width: int
    n_outputs: int
    layers: tuple[str, ...]
    outputs: np.ndarray | None
    load_s: float
    predict_s: float
    wall_s: float
    n_params: int


def _child_env(folder: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "LANG": "C.UTF-8",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
        "OMP_NUM_THREADS": "1",
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
        "KERAS_HOME": str(folder / ".keras"),
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
    }
    return env


def run_in_sandbox(
    model: bytes, features: np.ndarray, *, timeout_s: float, memory_mb: int
) -> SandboxResult:
    """Load ``model`` (bytes already through :func:`hub.publishing.inspect.inspect_archive`)
    in a child process and run it on ``features`` (float32, shape (n, width)). Raises
    :class:`ModelRefused` (``load_timeout``, ``out_of_memory``, ``load_failed``,
    ``unknown_layer``, ``invalid_model_shape``) when it cannot."""
    x = np.ascontiguousarray(features, dtype=np.float32)
    with _SLOTS, tempfile.TemporaryDirectory(prefix="hub-sandbox-") as tmp:
        folder = Path(tmp)
        os.chmod(folder, 0o700)
        (folder / MODEL).write_bytes(model)
        np.save(folder / FEATURES, x, allow_pickle=False)
        cmd = [sys.executable, "-I", "-m", "hub.publishing.sandbox", str(folder), str(memory_mb)]
        start = time.perf_counter()
        try:
            proc = subprocess.run(  # fixed argv, no shell: nothing from the upload in it
                cmd,
                cwd=folder,
                env=_child_env(folder),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ModelRefused(
                f"loading and running the model took over {timeout_s:g} s",
                code="load_timeout",
                limit_s=timeout_s,
            ) from exc
        wall = time.perf_counter() - start
        result_path = folder / RESULT
        if not result_path.exists():
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            code = "out_of_memory" if _looks_oom(proc.returncode, tail) else "load_failed"
            raise ModelRefused(
                f"the model could not be loaded (exit status {proc.returncode}"
                f"{': ' + ' | '.join(t[:200] for t in tail) if tail else ''})",
                code=code,
                memory_mb=memory_mb,
            )
        report = json.loads(result_path.read_text("utf-8"))
        if not report.get("ok"):
            raise ModelRefused(
                str(report.get("message", "the model could not be loaded"))[:1000],
                code=str(report.get("code", "load_failed")),
                **{k: v for k, v in report.get("detail", {}).items() if isinstance(k, str)},
            )
        out_path = folder / OUTPUTS
        outputs = np.load(out_path, allow_pickle=False) if out_path.exists() else None
        return SandboxResult(
            input_width=int(report["input_width"]),
            n_outputs=int(report["n_outputs"]),
            layers=tuple(report.get("layers", ())),
            outputs=outputs,
            load_s=float(report.get("load_s", 0.0)),
            predict_s=float(report.get("predict_s", 0.0)),
            wall_s=wall,
            n_params=int(report.get("n_params", 0)),
        )


def _looks_oom(returncode: int, tail: list[str]) -> bool:
    text = " ".join(tail).lower()
    return returncode in (-6, -9, 134, 137) or "memoryerror" in text or "bad_alloc" in text


# -- the child ----------------------------------------------------------------------------
def _limit(memory_mb: int) -> None:
    import resource

    for what, value in (
        (resource.RLIMIT_AS, memory_mb * 1024 * 1024 if memory_mb > 0 else None),
        (resource.RLIMIT_FSIZE, MAX_FILE_BYTES),
        (resource.RLIMIT_CORE, 0),
    ):
        if value is None:
            continue
        _, hard = resource.getrlimit(what)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(what, (value, hard))


def _write(folder: Path, report: dict[str, Any]) -> None:
    tmp = folder / (RESULT + ".tmp")
    tmp.write_text(json.dumps(report), "utf-8")
    tmp.replace(folder / RESULT)


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "code": code, "message": message}


def _all_layers(model: Any) -> list[Any]:
    out, todo = [], list(getattr(model, "layers", ()))
    while todo:
        layer = todo.pop(0)
        out.append(layer)
        todo.extend(getattr(layer, "layers", ()) or ())
    return out


def _run(folder: Path) -> dict[str, Any]:
    start = time.perf_counter()
    import keras

    from hub.publishing.inspect import KERAS_LAYERS, KERAS_MODELS, hub_layers

    hub_classes = {name.split(">", 1)[1] for name in hub_layers()}  # registers them too
    t0 = time.perf_counter()
    model = keras.saving.load_model(folder / MODEL, compile=False, safe_mode=True)
    load_s = time.perf_counter() - t0
    layers = []
    for layer in _all_layers(model):
        name = type(layer).__name__
        ok = (
            (name in KERAS_LAYERS and type(layer).__module__.startswith("keras."))
            or (name in hub_classes and type(layer).__module__ == "hub.runtime.keras_layers")
            or name in KERAS_MODELS
        )
        if not ok:
            return _refusal("unknown_layer", f"layer class {name!r} is not one the hub loads")
        layers.append(name)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        n_in, n_out = len(model.inputs), len(model.outputs)
        return _refusal(
            "invalid_model_shape",
            f"the model must have one input and one output, not {n_in} and {n_out}",
        )
    in_shape, out_shape = tuple(model.inputs[0].shape), tuple(model.outputs[0].shape)
    if len(in_shape) != 2 or in_shape[1] is None or len(out_shape) != 2 or out_shape[1] is None:
        return _refusal(
            "invalid_model_shape",
            f"the model must map (batch, features) to (batch, outputs), not {in_shape} to "
            f"{out_shape}",
        )
    report = {
        "ok": True,
        "input_width": int(in_shape[1]),
        "n_outputs": int(out_shape[1]),
        "layers": layers,
        "n_params": int(model.count_params()),
        "load_s": round(load_s, 4),
        "keras": keras.__version__,
    }
    x = np.load(folder / FEATURES, allow_pickle=False)
    if x.ndim == 2 and x.shape[1] == report["input_width"]:
        t0 = time.perf_counter()
        parts = [
            np.asarray(model(x[i : i + 1024], training=False), dtype=np.float32)
            for i in range(0, len(x), 1024)
        ]
        y = np.concatenate(parts) if parts else np.zeros((0, report["n_outputs"]), np.float32)
        np.save(folder / OUTPUTS, y, allow_pickle=False)
        report["predict_s"] = round(time.perf_counter() - t0, 4)
    report["total_s"] = round(time.perf_counter() - start, 3)
    return report


_OOM_WORDS = ("failed to map", "cannot allocate memory", "resource exhausted", "oom", "bad_alloc")


def _out_of_memory(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return isinstance(exc, MemoryError) or any(w in text for w in _OOM_WORDS)


def main(argv: list[str]) -> int:
    """The child: ``FOLDER MEMORY_MB``; always writes ``result.json`` when it can."""
    folder, memory_mb = Path(argv[0]), int(argv[1])
    _limit(memory_mb)
    try:
        import keras  # noqa: F401 - TensorFlow and Keras under the limit, before the model
    except Exception as exc:  # noqa: BLE001 - an address space too small to start Keras
        code = "out_of_memory" if _out_of_memory(exc) or memory_mb < 2048 else "load_failed"
        _write(folder, _refusal(code, f"the sandbox could not start Keras in {memory_mb} MB "
                                f"({type(exc).__name__}: {str(exc)[:300]})"))  # fmt: skip
        return 0
    try:
        report = _run(folder)
    except Exception as exc:  # noqa: BLE001 - every failure of an upload is a refusal
        if _out_of_memory(exc):
            report = _refusal(
                "out_of_memory", f"the model needs more than {memory_mb} MB to load and run"
            )
        else:
            report = _refusal(
                "load_failed",
                f"Keras could not load the model in safe mode: {type(exc).__name__}: "
                f"{str(exc)[:600]}",
            )
    _write(folder, report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
