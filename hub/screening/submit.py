"""Creating a screen: the models checked, the input streamed to the artifact store, the row
written (``queued``) before anything goes to Dask."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from hub.auth.identity import Caller
from hub.catalog import CatalogStore
from hub.catalog.screens import Screen, ScreenStore
from hub.config import Settings
from hub.errors import InvalidRequest, NotFound, PayloadTooLarge
from hub.plugins import PluginRegistry
from hub.screening.formats import HEAD_BYTES, check_head, detect_format

MAX_MODELS = 20


def resolve_models(
    store: CatalogStore,
    plugins: PluginRegistry,
    refs: list[str],
    *,
    caller: Caller | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Pin each reference to a version; all must take one input type that has a ``key``
    (its identity, by which inputs are deduplicated). Returns (model entries, input type)."""
    if not refs:
        raise InvalidRequest("give at least one model to screen with", code="no_models")
    if len(refs) > MAX_MODELS:
        raise InvalidRequest(f"at most {MAX_MODELS} models per screen", code="too_many_models")
    entries, types = [], set()
    for ref in refs:
        version = store.resolve(ref, caller=caller)
        info = store.get_model(version.model, caller=caller)
        types.add(info.input_type)
        entries.append(
            {
                "ref": ref,
                "model": version.model,
                "version": version.version,
                "outputs": [o.name for o in info.outputs],
            }
        )
    if len(types) != 1:
        raise InvalidRequest(
            f"the models take different inputs ({', '.join(sorted(types))}): screen them "
            "separately",
            code="mixed_input_types",
        )
    input_type = types.pop()
    try:
        itype = plugins.input_type(input_type)
    except Exception as exc:
        raise NotFound(f"input type {input_type!r} is not installed") from exc
    if itype.key is None:
        raise InvalidRequest(
            f"inputs of type {input_type!r} have no key to deduplicate them by: they cannot "
            "be screened",
            code="not_screenable",
        )
    return entries, input_type


def checked_stream(
    chunks: Iterable[bytes], fmt: str, column: str, max_bytes: int
) -> Iterator[bytes]:
    """``chunks`` passed through, after :func:`~hub.screening.formats.check_head` on the
    first :data:`HEAD_BYTES` (empty, binary, no column: 422 before more is read) and with
    ``PayloadTooLarge`` past ``max_bytes``."""
    head = b""
    checked = False
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(
                f"the input file is larger than the limit of {max_bytes} bytes",
                limit=max_bytes,
            )
        if not checked:
            head += chunk
            if len(head) >= HEAD_BYTES:
                check_head(head, fmt, column)
                checked = True
                yield head
                head = b""
            continue
        yield chunk
    if not checked:
        check_head(head, fmt, column)
        yield head


def create_screen(
    settings: Settings,
    store: CatalogStore,
    artifacts: Any,
    plugins: PluginRegistry,
    *,
    models: list[str],
    chunks: Iterable[bytes] | None = None,
    input_sha256: str | None = None,
    name: str = "",
    fmt: str | None = None,
    column: str = "smiles",
    chunk_size: int | None = None,
    owner: str | None = None,
    caller: Caller | None = None,
    reuse: bool = False,
) -> Screen:
    """Check the models, store the input (``chunks`` of bytes, streamed) or take a stored one
    (``input_sha256``), and write the screen's row. With ``reuse``, a screen of the same input,
    models and parameters not failed or cancelled is returned instead (``hub screen`` resumes)."""
    entries, input_type = resolve_models(store, plugins, models, caller=caller)
    fmt = detect_format(name or "", fmt)
    size = int(chunk_size or settings.screen_chunk)
    if not 1 <= size <= 100_000:
        raise InvalidRequest("chunk_size must be between 1 and 100000", code="invalid_chunk_size")
    if not column or len(column) > 100:
        raise InvalidRequest("give the name of the input column (at most 100 characters)")
    if input_sha256 is not None:
        if not artifacts.exists(input_sha256):
            raise NotFound(f"no artifact {input_sha256[:64]}", code="artifact_missing")
        head = b""
        for part in artifacts.iter_chunks(input_sha256, HEAD_BYTES):
            head = part
            break
        check_head(head, fmt, column)
        sha = input_sha256
    elif chunks is not None:
        try:
            sha, _ = artifacts.put_stream(
                checked_stream(chunks, fmt, column, settings.screen_max_bytes)
            )
        except ValueError as exc:
            raise PayloadTooLarge(str(exc)) from exc
    else:
        raise InvalidRequest("give an input file or the sha256 of a stored one")
    screens = ScreenStore(store)
    if reuse:
        same = screens.find_same(input_sha256=sha, models=entries, column=column, chunk_size=size)
        if same is not None:
            return same
    return screens.create(
        models=entries,
        input_sha256=sha,
        input_name=name,
        input_format=fmt,
        input_column=column,
        input_type=input_type,
        chunk_size=size,
        owner=owner,
    )
