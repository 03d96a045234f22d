"""What an imported version must pass before it is registered, beyond its hashes.

An imported Keras file is a user upload like a published one, so it goes through the same
gate (:mod:`hub.publishing`): the static checks of the archive
(:func:`~hub.publishing.inspect.inspect_archive`: known members, no pickle, no Lambda, only
allowed layers) and a load in a separate process with a time and memory limit
(:func:`~hub.publishing.sandbox.run_in_sandbox`, ``safe_mode=True``), whose output count must
fit the spec. That applies to the ``model`` of a ``keras`` version and to any artifact that
looks like a ``.keras`` file, whatever the kind. Only then is the version loaded in this
process through its kind, as the runtime would, and run on one example input: a model that
does not load or run here is refused (``unloadable_model``) before anything is stored.
"""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.artifacts import sha256_bytes
from hub.entities import Version, VersionCreate
from hub.errors import CallerError, HubError, IntegrityError, InvalidRequest, NotFound
from hub.plugins import LoadContext, PluginRegistry

# sha256 of the Keras files that passed the sandbox in this process -> their output columns
_PASSED: dict[str, int] = {}
_PASSED_LOCK = threading.Lock()


@dataclass(frozen=True)
class SandboxLimits:
    """The sandbox's wall time (s) and memory (MiB) for one Keras file (the settings'
    ``HUB_SANDBOX_TIMEOUT_S`` and ``HUB_SANDBOX_MEMORY_MB``), and the most bytes its
    members may unpack to."""

    timeout_s: float = 300.0
    memory_mb: int = 4096
    max_unpacked: int = 4 * 1024**3


def keras_files(new: VersionCreate, staged: dict[str, Path]) -> list[str]:
    """The sha256 of the artifacts to check as Keras files: a ``keras`` version's ``model``,
    and any artifact that is a zip with a Keras config or weights in it."""
    found = set()
    if new.kind == "keras" and "model" in new.artifacts:
        found.add(new.artifacts["model"])
    for sha, path in staged.items():
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                continue
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            continue
        if any(n == "config.json" or n.endswith(".weights.h5") for n in names):
            found.add(sha)
    return sorted(found)


def check_keras_files(new: VersionCreate, staged: dict[str, Path], limits: SandboxLimits) -> None:
    """Each Keras file through the publishing gate (static checks, then the sandbox); a
    refusal is :class:`~hub.publishing.errors.ModelRefused` (422) with its reason's code. A
    file that passed the sandbox once in this process is not run there again (its static
    checks and output count are)."""
    import numpy as np

    from hub.publishing.errors import ModelRefused
    from hub.publishing.inspect import inspect_archive
    from hub.publishing.sandbox import run_in_sandbox

    for sha in keras_files(new, staged):
        data = staged[sha].read_bytes()
        inspect_archive(data, max_unpacked=limits.max_unpacked)
        n_outputs = _PASSED.get(sha)
        if n_outputs is None:
            box = run_in_sandbox(
                data,
                np.zeros((0, 1), np.float32),
                timeout_s=limits.timeout_s,
                memory_mb=limits.memory_mb,
            )
            n_outputs = box.n_outputs
            with _PASSED_LOCK:
                if len(_PASSED) > 4096:
                    _PASSED.clear()
                _PASSED[sha] = n_outputs
        if new.kind == "keras" and sha == new.artifacts.get("model"):
            expected = _expected_columns(new.spec)
            if expected is not None and n_outputs != expected:
                raise ModelRefused(
                    f"the model gives {n_outputs} columns where its spec declares "
                    f"{expected} (outputs, plus one for an uncertainty column)",
                    code="output_count_mismatch",
                )


def _expected_columns(spec: dict[str, Any]) -> int | None:
    """The columns a ``keras`` version's model must give: its outputs, plus one for an
    uncertainty column (``spec["uncertainty"] == "last_column"``)."""
    outputs = spec.get("outputs")
    if not isinstance(outputs, list):
        return None
    return len(outputs) + (spec.get("uncertainty") == "last_column")


def check_loads(
    plugins: PluginRegistry,
    name: str,
    new: VersionCreate,
    staged: dict[str, Path],
    *,
    input_type: str,
    max_input_chars: int,
) -> None:
    """Load the version from the staged files through its kind, as the runtime would (a
    Keras model with ``safe_mode=True``), and predict one example of ``input_type`` (or the
    spec's own ``example``) with it."""
    from hub.params import check_params
    from hub.runtime.core import builtin_kinds

    kind = plugins.model_kind(new.kind) or builtin_kinds()[new.kind]
    version = Version(
        model=name,
        version=0,
        kind=new.kind,
        spec=new.spec,
        artifacts=new.artifacts,
        recipe=new.recipe,
        recipe_params=new.recipe_params,
        fingerprint=new.fingerprint,
        dataset=new.dataset,
        software=new.software,
        metrics=new.metrics,
        status="importing",
        created_at=None,
        description=new.description,
    )
    example = _example(plugins, new, input_type)
    try:
        predictor = kind.load(version, LoadContext(plugins, _reader(staged), max_input_chars))
        if example is not None:
            params = check_params(kind.params_for(version, plugins), {}).model_dump()
            predictor.predict([example], params)
    except (CallerError, IntegrityError):
        raise
    except Exception as exc:  # a kind's loader (PluginError) or the model failing on the pack
        raise InvalidRequest(
            f"the pack's model does not load or run on this hub ({type(exc).__name__}: "
            f"{str(exc)[:300]})",
            code="unloadable_model",
        ) from exc


def _example(plugins: PluginRegistry, new: VersionCreate, input_type: str) -> Any:
    """The input the version is made for (``spec["example"]``), else its input type's."""
    if "example" in new.spec:
        return new.spec["example"]
    try:
        return plugins.input_type(input_type).example
    except HubError:
        return None


def _reader(staged: dict[str, Path]) -> Callable[[str], bytes]:
    def read(sha: str) -> bytes:
        path = staged.get(sha)
        if path is None:
            raise NotFound(f"artifact {sha} is not in the pack", code="artifact_missing")
        data = path.read_bytes()
        if sha256_bytes(data) != sha:
            raise IntegrityError(f"artifact {sha} changed after it was checked")
        return data

    return read
