"""Per-item handling shared by every model kind: a bad input fills its own slot."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from hub.errors import HubError, ItemError

log = logging.getLogger(__name__)


# The id of the request being served (set by the HTTP layer; "-" outside one). Worker threads
# see it: AnyIO copies the context into the thread that runs a prediction.
REQUEST_ID: ContextVar[str] = ContextVar("hub_request_id", default="-")
TRACEBACK_EVERY_S = 600.0  # a cause's traceback is logged at most once in this many seconds
_logged_lock = threading.Lock()
_traceback_at: dict[tuple[str, str], float] = {}  # cause -> when its traceback was last logged
_line_for: OrderedDict[tuple[str, tuple[str, str]], int] = OrderedDict()  # (request, cause) -> n


def _cause(exc: BaseException) -> tuple[str, str]:
    """What makes two unexpected errors the same: their type and where they were raised."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else "?"
    return type(exc).__name__, where


def log_unexpected(exc: BaseException) -> None:
    """Log an unexpected error on one input: one line per request and cause (with the request
    id), and the traceback once per cause every ``TRACEBACK_EVERY_S`` seconds; never a line
    per item of a batch."""
    cause = _cause(exc)
    request = REQUEST_ID.get()
    now = time.monotonic()
    with _logged_lock:
        key = (request, cause)
        seen = _line_for.get(key)
        _line_for[key] = (seen or 0) + 1
        _line_for.move_to_end(key)
        while len(_line_for) > 1000:
            _line_for.popitem(last=False)
        if seen is not None:
            return  # this request already logged this cause
        last = _traceback_at.get(cause)
        with_traceback = last is None or now - last >= TRACEBACK_EVERY_S
        if with_traceback:
            if len(_traceback_at) > 1000:
                _traceback_at.clear()
            _traceback_at[cause] = now
    message = "unexpected %s on an input (request %s, at %s): %s"
    args = (cause[0], request, cause[1], str(exc)[:200])
    if with_traceback:
        log.error(message, *args, exc_info=exc)
    else:
        log.error(message + " (traceback logged before)", *args)


def error_item(exc: BaseException) -> dict[str, Any]:
    """The ``{"error": {...}}`` slot for an input that failed."""
    if isinstance(exc, HubError):
        return {"error": exc.to_dict()}
    if isinstance(exc, MemoryError):  # over the worker's RLIMIT_AS (hub.memlimit)
        message = "the input needs more memory than a worker may use for one request"
        return {"error": {"code": "memory_limit_exceeded", "message": message}}
    # An engine failure we did not foresee: report it on the item, keep the worker alive.
    log_unexpected(exc)
    return {
        "error": {"code": "internal_error", "message": f"{type(exc).__name__}: {str(exc)[:300]}"}
    }


def parse_item(parse: Callable[[Any], Any], raw: Any, max_chars: int) -> Any:
    """Check the generic limits, then run the input type's parser. Text anywhere in the item
    (strings, object keys, nested) must be valid Unicode: a lone surrogate, which a JSON
    ``\\udfff`` escape can carry, is ``invalid_input`` before any parser sees it."""
    if isinstance(raw, str) and len(raw) > max_chars:
        raise ItemError(
            f"input is {len(raw)} characters long; the limit is {max_chars}", code="too_large"
        )
    _check_unicode(raw)
    return parse(raw)


def _check_unicode(raw: Any) -> None:
    """Raise ``invalid_input`` for the first string in ``raw`` that UTF-8 cannot encode (an
    iterative walk: no recursion limit on deeply nested JSON)."""
    stack = [raw]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            if x.isascii():
                continue
            try:
                x.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ItemError(
                    f"the input is not valid Unicode: a lone surrogate {x[exc.start]!a} at "
                    f"position {exc.start} of a string",
                    code="invalid_input",
                ) from None
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list | tuple):
            stack.extend(x)


def to_json_number(x: float) -> float | None:
    """JSON has no NaN or infinity: report them as null."""
    x = float(x)
    return x if math.isfinite(x) else None
