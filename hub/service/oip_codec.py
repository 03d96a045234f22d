"""Tensors of the Open Inference Protocol v2 (KServe, Triton) over HTTP, with the binary
tensor extension that Triton's clients use by default.

A request body is JSON, or JSON followed by raw tensor bytes when the header
``Inference-Header-Content-Length`` gives the JSON's length; each binary input says its size in
``parameters.binary_data_size`` and its bytes follow in input order. BYTES elements are
4-byte little-endian lengths followed by the bytes; numbers are little-endian.

A response is JSON, or JSON followed by binary outputs when the request asked for them
(``parameters.binary_data_output``, or ``binary_data`` on a requested output).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from hub.errors import InvalidRequest

NUMERIC = {
    "FP32": "<f4",
    "FP64": "<f8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "BOOL": "?",
}
MAX_ELEMENTS = 1_000_000


@dataclass(frozen=True)
class Tensor:
    """One named tensor: its OIP datatype, shape and flat data (a list)."""

    name: str
    datatype: str
    shape: list[int]
    data: list[Any]


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    inputs: list[Tensor]
    parameters: dict[str, Any]
    outputs: list[dict[str, Any]]  # requested outputs: {"name", "parameters"}
    binary_output: bool  # every output in binary unless a requested one says otherwise


def _bad(message: str) -> InvalidRequest:
    return InvalidRequest(f"invalid inference request: {message}", code="invalid_request")


def parse_request(body: bytes, header_length: str | None) -> InferRequest:
    """The inference request in ``body`` (``header_length``: the value of
    ``Inference-Header-Content-Length``, if sent)."""
    n = len(body)
    if header_length is not None:
        try:
            n = int(header_length)
        except ValueError:
            raise _bad("Inference-Header-Content-Length is not a number") from None
        if not 0 < n <= len(body):
            raise _bad("Inference-Header-Content-Length is outside the body")
    try:
        head = orjson.loads(body[:n])
    except orjson.JSONDecodeError as exc:
        raise _bad(f"the JSON header does not parse ({exc})") from None
    if not isinstance(head, dict) or not isinstance(head.get("inputs"), list):
        raise _bad("expected a JSON object with an 'inputs' list")
    params = head.get("parameters") or {}
    outputs = head.get("outputs") or []
    if not isinstance(params, dict) or not isinstance(outputs, list):
        raise _bad("'parameters' must be an object and 'outputs' a list")
    rest = memoryview(body)[n:]
    inputs = []
    for t in head["inputs"]:
        tensor, used = _input(t, rest)
        inputs.append(tensor)
        rest = rest[used:]
    wanted = [o for o in outputs if isinstance(o, dict) and isinstance(o.get("name"), str)]
    rid = head.get("id")
    return InferRequest(
        id=rid if isinstance(rid, str) else None,
        inputs=inputs,
        parameters={k: v for k, v in params.items() if k != "binary_data_output"},
        outputs=wanted,
        binary_output=params.get("binary_data_output") is True,
    )


def _input(t: Any, rest: memoryview) -> tuple[Tensor, int]:
    if not isinstance(t, dict):
        raise _bad("each input must be an object")
    name, datatype, shape = t.get("name"), t.get("datatype"), t.get("shape")
    if not isinstance(name, str) or not isinstance(datatype, str):
        raise _bad("each input needs a 'name' and a 'datatype'")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise _bad(f"input {name!r}: 'shape' must be a list of sizes")
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise _bad(f"input {name!r} has {count} elements; at most {MAX_ELEMENTS}")
    size = (t.get("parameters") or {}).get("binary_data_size")
    if size is not None:
        if not isinstance(size, int) or not 0 <= size <= len(rest):
            raise _bad(f"input {name!r}: binary_data_size is outside the body")
        data = _from_binary(name, datatype, bytes(rest[:size]), count)
        return Tensor(name, datatype, shape, data), size
    data = t.get("data")
    if not isinstance(data, list):
        raise _bad(f"input {name!r} has no 'data' list (nor binary data)")
    flat = _flatten(data)
    if len(flat) != count:
        raise _bad(f"input {name!r}: {len(flat)} elements for shape {shape}")
    return Tensor(name, datatype, shape, flat), 0


def _flatten(data: list[Any]) -> list[Any]:
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        for x in stack[-1]:
            if isinstance(x, list):
                stack.append(iter(x))
                break
            out.append(x)
            if len(out) > MAX_ELEMENTS:
                raise _bad(f"more than {MAX_ELEMENTS} elements")
        else:
            stack.pop()
    return out


def _from_binary(name: str, datatype: str, raw: bytes, count: int) -> list[Any]:
    if datatype == "BYTES":
        out, i = [], 0
        while i < len(raw):
            if i + 4 > len(raw):
                raise _bad(f"input {name!r}: truncated BYTES element")
            (n,) = struct.unpack_from("<I", raw, i)
            if i + 4 + n > len(raw):
                raise _bad(f"input {name!r}: truncated BYTES element")
            out.append(raw[i + 4 : i + 4 + n])
            i += 4 + n
        if len(out) != count:
            raise _bad(f"input {name!r}: {len(out)} elements for {count}")
        return out
    dtype = NUMERIC.get(datatype)
    if dtype is None:
        raise _bad(f"input {name!r}: datatype {datatype!r} is not supported")
    if len(raw) != count * np.dtype(dtype).itemsize:
        raise _bad(f"input {name!r}: {len(raw)} bytes for {count} {datatype} elements")
    return np.frombuffer(raw, dtype).tolist()


def texts(t: Tensor) -> list[str]:
    """A BYTES tensor's elements as text (UTF-8)."""
    if t.datatype != "BYTES":
        raise _bad(f"input {t.name!r} must be BYTES (one text per input), not {t.datatype}")
    out = []
    for x in t.data:
        if isinstance(x, bytes):
            try:
                x = x.decode("utf-8")
            except UnicodeDecodeError:
                raise _bad(f"input {t.name!r}: an element is not UTF-8") from None
        if not isinstance(x, str):
            raise _bad(f"input {t.name!r}: BYTES elements must be strings")
        out.append(x)
    return out


def encode_response(
    head: dict[str, Any], tensors: Sequence[Tensor], binary: set[str]
) -> tuple[bytes, int | None]:
    """The response body, and the JSON header's length when outputs named in ``binary``
    follow it as raw bytes (else None: the body is JSON)."""
    outputs, blobs = [], []
    for t in tensors:
        entry: dict[str, Any] = {"name": t.name, "datatype": t.datatype, "shape": t.shape}
        if t.name in binary:
            blob = _to_binary(t)
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        elif t.datatype == "FP32":
            entry["data"] = [None if v is None or not math.isfinite(v) else v for v in t.data]
        else:
            entry["data"] = t.data
        outputs.append(entry)
    text = orjson.dumps({**head, "outputs": outputs})
    if not blobs:
        return text, None
    return text + b"".join(blobs), len(text)


def _to_binary(t: Tensor) -> bytes:
    if t.datatype == "BYTES":
        parts = []
        for x in t.data:
            b = x.encode("utf-8") if isinstance(x, str) else bytes(x)
            parts.append(struct.pack("<I", len(b)) + b)
        return b"".join(parts)
    values = [np.nan if v is None else v for v in t.data]
    return np.asarray(values, dtype=NUMERIC[t.datatype]).tobytes()
