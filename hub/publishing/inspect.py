"""Static checks of an uploaded model, on its bytes, before any Keras code sees them.

A ``.keras`` file is a zip of exactly ``config.json``, ``metadata.json`` and
``model.weights.h5``. The hub refuses, each with its own code (:class:`ModelRefused`):

- ``h5_not_accepted``: an HDF5 file (legacy ``.h5`` models carry their architecture as
  config that older loaders deserialise unchecked); ``pickle_not_accepted``: a pickle;
  ``not_a_keras_file``: anything else that is not a zip;
- ``truncated_archive``: a zip that cannot be read to its end, or a member whose CRC fails;
- ``unsafe_archive_path``: an absolute path, ``..``, a backslash or a drive in a member name;
- ``pickle_in_archive``: a ``.pkl``/``.pickle``/``.npy``/``.npz``/``.joblib`` member or one whose
  bytes start like a pickle; ``unexpected_member``: any member but the three (``assets/``
  included), or one twice; ``encrypted_archive``;
- ``too_many_members`` / ``archive_too_large``: more than :data:`MAX_MEMBERS` entries, or
  declared uncompressed sizes over the limit or a member compressed over
  :data:`MAX_RATIO` to one (a zip bomb), checked on the central directory before inflating;
- ``invalid_config``: ``config.json`` or ``metadata.json`` not a JSON object;
  ``lambda_layer``: a ``Lambda`` layer (it carries Python bytecode); ``unsafe_config``: any
  ``safe_mode`` key, serialised function (``__lambda__``, ``class_name: "function"``) or
  non-Keras module; ``unknown_layer``: a class that is neither one of the Keras built-ins
  listed here nor a layer the hub registers (``hub>EnsembleMeanStd``, ``hub>SelectColumns``).

The built-ins are a fixed list (:data:`KERAS_LAYERS`, ...) of what a model of feature vectors
uses, not every class Keras exports: ``TFSMLayer`` loads a SavedModel from a path,
``TorchModuleWrapper`` unpickles, ``JaxLayer`` wraps functions.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from functools import cache
from typing import Any

import hub.keras_env  # noqa: F401 - before Keras (imported by hub_layers)
from hub.publishing.errors import ModelRefused

EXPECTED = ("config.json", "metadata.json", "model.weights.h5")
MAX_MEMBERS = 16
MAX_JSON_BYTES = 8 * 1024 * 1024  # config.json / metadata.json, uncompressed
MAX_RATIO = 200  # uncompressed / compressed, per member
MAX_DEPTH = 64  # nesting of config.json
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".npy", ".npz", ".joblib", ".dill", ".pt", ".pth")

KERAS_LAYERS = frozenset(
    """Activation ActivityRegularization Add AlphaDropout Average BatchNormalization
    Concatenate Dense Dot Dropout ELU EinsumDense Flatten GaussianDropout GaussianNoise
    GroupNormalization Identity InputLayer LayerNormalization LeakyReLU Masking Maximum Minimum
    Multiply Normalization PReLU Permute RMSNormalization ReLU RepeatVector Rescaling Reshape
    Softmax Subtract UnitNormalization""".split()
)
KERAS_MODELS = frozenset({"Sequential", "Functional", "Model"})
KERAS_OBJECTS = {
    "keras.initializers": frozenset(
        """Constant GlorotNormal GlorotUniform HeNormal HeUniform Identity IdentityInitializer
        LecunNormal LecunUniform Ones Orthogonal OrthogonalInitializer RandomNormal
        RandomUniform TruncatedNormal VarianceScaling Zeros""".split()
    ),
    "keras.regularizers": frozenset({"L1", "L2", "L1L2", "OrthogonalRegularizer"}),
    "keras.constraints": frozenset({"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"}),
}
MODEL_MODULES = frozenset(
    {
        "keras",
        "keras.models",
        "keras.src.models.functional",
        "keras.src.models.sequential",
        "keras.src.models.model",
    }
)
DTYPE_POLICIES = frozenset({"DTypePolicy", "FloatDTypePolicy"})
# Keras's own markers inside a config (a symbolic tensor of a functional graph, a tuple)
MARKERS = frozenset({"__keras_tensor__", "__tuple__"})


@dataclass(frozen=True)
class KerasArchive:
    """What the static checks read: the parsed config and metadata, and the member sizes."""

    config: dict[str, Any]
    metadata: dict[str, Any]
    sizes: dict[str, int]  # member -> uncompressed bytes
    layers: tuple[str, ...]  # every layer class named by the config, in order


@cache
def hub_layers() -> dict[str, str]:
    """The hub's own registered layers: registered name (``hub>EnsembleMeanStd``) -> module.
    Imports Keras (to register them), never anything uploaded."""
    import keras

    from hub.runtime import keras_layers

    out = {}
    for obj in vars(keras_layers).values():
        if isinstance(obj, type) and issubclass(obj, keras.layers.Layer):
            registered = keras.saving.get_registered_name(obj)
            if registered.startswith("hub>"):
                out[registered] = obj.__module__
    return out


def sniff(data: bytes) -> None:
    """Refuse what is not a zip, saying what it looks like."""
    head = data[:8]
    if head.startswith(HDF5_MAGIC):
        raise ModelRefused(
            "this is an HDF5 (.h5) model; the hub takes only the Keras 3 '.keras' format "
            "(model.save('model.keras'))",
            code="h5_not_accepted",
        )
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise ModelRefused("this is a Python pickle; the hub never unpickles uploads",
                           code="pickle_not_accepted")  # fmt: skip
    if not head.startswith(ZIP_MAGIC):
        raise ModelRefused(
            "not a '.keras' file (a zip archive from model.save('model.keras'))",
            code="not_a_keras_file",
        )


def _check_name(name: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if (
        name.startswith(("/", "\\"))
        or "\\" in name
        or ".." in parts
        or (len(name) > 1 and name[1] == ":")
        or "\x00" in name
    ):
        raise ModelRefused(
            f"the archive has a member outside its root: {name[:200]!r}",
            code="unsafe_archive_path",
            member=name[:200],
        )
    if name.lower().endswith(PICKLE_SUFFIXES):
        raise ModelRefused(
            f"the archive holds a pickled object ({name[:200]!r}); the hub never unpickles",
            code="pickle_in_archive",
            member=name[:200],
        )


def _members(zf: zipfile.ZipFile, max_unpacked: int) -> dict[str, zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ModelRefused(
            f"the archive has {len(infos)} members (a '.keras' file has {len(EXPECTED)})",
            code="too_many_members",
            limit=MAX_MEMBERS,
        )
    for info in infos:
        _check_name(info.filename)
    total = sum(i.file_size for i in infos)
    if total > max_unpacked:
        raise ModelRefused(
            f"the archive unpacks to {total} bytes, over the limit of {max_unpacked}",
            code="archive_too_large",
            limit=max_unpacked,
        )
    found: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if info.flag_bits & 0x1:
            raise ModelRefused("the archive is encrypted", code="encrypted_archive")
        if info.filename not in EXPECTED or info.filename in found:
            raise ModelRefused(
                f"unexpected member {info.filename[:200]!r}: a '.keras' file holds only "
                f"{', '.join(EXPECTED)}",
                code="unexpected_member",
                member=info.filename[:200],
            )
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 1 << 20:
            raise ModelRefused(
                f"{info.filename} is compressed {info.file_size // max(info.compress_size, 1)} "
                f"to one (a zip bomb?)",
                code="archive_too_large",
                member=info.filename,
            )
        found[info.filename] = info
    missing = [m for m in EXPECTED if m not in found]
    if missing:
        raise ModelRefused(
            f"the archive lacks {', '.join(missing)}: not a Keras 3 '.keras' file",
            code="not_a_keras_file",
        )
    return found


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The member's bytes, reading at most ``limit`` (its CRC is checked at the end)."""
    out = io.BytesIO()
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(1 << 20):
                out.write(chunk)
                if out.tell() > limit:
                    raise ModelRefused(
                        f"{info.filename} is larger than it declares",
                        code="archive_too_large",
                        member=info.filename,
                    )
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ModelRefused(
            f"the archive is truncated or damaged ({info.filename}: {exc})",
            code="truncated_archive",
            member=info.filename,
        ) from exc
    except NotImplementedError as exc:  # an unsupported compression method
        raise ModelRefused(f"{info.filename}: {exc}", code="not_a_keras_file") from exc
    return out.getvalue()


def _json(data: bytes, member: str) -> dict[str, Any]:
    if data[:2] == b"\x80\x04" or data[:1] == b"\x80":
        raise ModelRefused(f"{member} is a pickle", code="pickle_in_archive", member=member)
    try:
        obj = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ModelRefused(f"{member} is not JSON: {exc}", code="invalid_config") from exc
    if not isinstance(obj, dict):
        raise ModelRefused(f"{member} is not a JSON object", code="invalid_config")
    return obj


def inspect_archive(data: bytes, *, max_unpacked: int) -> KerasArchive:
    """Check the bytes of an uploaded ``.keras`` file (see the module docstring); raise
    :class:`ModelRefused` with the reason, or return what was read."""
    sniff(data)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ModelRefused(
            f"the archive is truncated or damaged: {exc}", code="truncated_archive"
        ) from exc
    with zf:
        infos = _members(zf, max_unpacked)
        blobs = {}
        for name, info in infos.items():
            limit = MAX_JSON_BYTES if name.endswith(".json") else max_unpacked
            if info.file_size > limit:
                raise ModelRefused(
                    f"{name} is {info.file_size} bytes, over {limit}",
                    code="archive_too_large",
                    member=name,
                )
            blobs[name] = _read(zf, info, limit)
    weights = blobs["model.weights.h5"]
    if weights[:1] == b"\x80":
        raise ModelRefused("model.weights.h5 is a pickle", code="pickle_in_archive",
                           member="model.weights.h5")  # fmt: skip
    if not weights.startswith(HDF5_MAGIC):
        raise ModelRefused("model.weights.h5 is not an HDF5 file", code="not_a_keras_file")
    config = _json(blobs["config.json"], "config.json")
    metadata = _json(blobs["metadata.json"], "metadata.json")
    layers = check_config(config)
    return KerasArchive(config, metadata, {n: len(b) for n, b in blobs.items()}, layers)


def check_config(config: dict[str, Any]) -> tuple[str, ...]:
    """Walk ``config.json``: the top object must be a Keras model, every object it names a
    known class (see the module docstring). Returns the layer classes, in order."""
    top = config.get("class_name")
    if (
        top not in KERAS_MODELS
        or not _keras_module(config.get("module"))
        or config.get("registered_name") not in (None, top)
    ):
        raise ModelRefused(
            f"config.json does not describe a Keras model (class {str(top)[:100]!r})",
            code="invalid_config",
        )
    layers: list[str] = []
    for key, value in config.items():
        # compile_config (optimizer, loss, metrics) is never read: the hub loads with
        # compile=False. It may name the publisher's own loss; only code in it is refused.
        _walk(value, layers, f"config.{key}", 1, strict=key != "compile_config")
    return tuple(layers)


def _keras_module(module: Any) -> bool:
    return isinstance(module, str) and (module == "keras" or module.startswith("keras."))


def _walk(node: Any, layers: list[str], where: str, depth: int, *, strict: bool = True) -> None:
    if depth > MAX_DEPTH:
        raise ModelRefused("config.json is nested too deeply", code="invalid_config")
    if isinstance(node, list):
        for i, item in enumerate(node):
            _walk(item, layers, f"{where}[{i}]", depth + 1, strict=strict)
        return
    if isinstance(node, str):
        if node == "__lambda__":
            raise ModelRefused(f"{where} holds a serialised function", code="unsafe_config")
        return
    if not isinstance(node, dict):
        return
    for key in node:
        if key == "safe_mode" or key.startswith("__lambda"):
            raise ModelRefused(
                f"config.json sets {key!r} at {where}: the hub always loads in safe mode",
                code="unsafe_config",
                at=where,
            )
    if "class_name" in node:
        if strict:
            _check_object(node, layers, where)
        elif node.get("class_name") in ("Lambda", "__lambda__"):
            raise ModelRefused(f"{where} holds a serialised function", code="unsafe_config")
    for key, value in node.items():
        _walk(value, layers, f"{where}.{key}", depth + 1, strict=strict)


def _check_object(node: dict[str, Any], layers: list[str], where: str) -> None:
    cls, module = node.get("class_name"), node.get("module")
    registered = node.get("registered_name")
    if not isinstance(cls, str):
        raise ModelRefused(f"{where}: class_name is not a string", code="invalid_config")
    if cls in MARKERS:
        return
    if cls == "Lambda":
        raise ModelRefused(
            f"a Lambda layer ({where}) carries Python code; the hub refuses it. Use built-in "
            "layers, or the hub's registered ones",
            code="lambda_layer",
            at=where,
        )
    if cls == "function" or cls.startswith("__") or registered == "function":
        raise ModelRefused(
            f"{where} is a serialised Python function ({cls[:60]!r})",
            code="unsafe_config",
            at=where,
        )
    if isinstance(registered, str) and ">" in registered:  # a registered custom class
        hub = hub_layers()
        if registered not in hub or module != hub[registered]:
            raise ModelRefused(
                f"{where}: custom class {registered[:100]!r} is not one of the hub's "
                f"registered layers ({', '.join(sorted(hub))})",
                code="unknown_layer",
                at=where,
            )
        layers.append(registered)
        return
    if registered not in (None, cls):
        raise ModelRefused(f"{where}: registered_name {str(registered)[:100]!r} is not "
                           f"the class {cls[:100]!r}", code="unsafe_config")  # fmt: skip
    if not _keras_module(module):
        raise ModelRefused(
            f"{where}: class {cls[:100]!r} from module {str(module)[:100]!r}: only Keras's "
            "own classes and the hub's registered layers load",
            code="unknown_layer",
            at=where,
        )
    if cls in KERAS_LAYERS and (module == "keras.layers" or module.startswith("keras.src.layers")):
        layers.append(cls)
        return
    if cls in KERAS_MODELS and module in MODEL_MODULES:
        return
    if cls in DTYPE_POLICIES and (
        module in ("keras", "keras.dtype_policies") or module.startswith("keras.src.dtype_policies")
    ):
        return
    if cls in KERAS_OBJECTS.get(module, ()):
        return
    raise ModelRefused(
        f"{where}: {module}.{cls[:100]} is not a layer the hub loads (allowed: Keras's "
        f"{', '.join(sorted(KERAS_LAYERS))}, and {', '.join(sorted(hub_layers()))})",
        code="unknown_layer",
        at=where,
        layer=cls[:100],
    )


def declared_input_width(config: dict[str, Any]) -> int | None:
    """The feature width the config's input layer declares (``batch_shape`` ``[null, d]``),
    when it says so plainly; None otherwise (the sandbox measures it in any case). Lets a
    wrong width be refused before a process is started."""
    inner = config.get("config")
    if not isinstance(inner, dict):
        return None
    layers = inner.get("layers")
    if not isinstance(layers, list):
        return None
    inputs = [
        item for item in layers if isinstance(item, dict) and item.get("class_name") == "InputLayer"
    ]
    if len(inputs) != 1 or not isinstance(inputs[0].get("config"), dict):
        return None
    shape = inputs[0]["config"].get("batch_shape") or inputs[0]["config"].get("batch_input_shape")
    if isinstance(shape, list) and len(shape) == 2 and isinstance(shape[1], int):
        return shape[1]
    return None
