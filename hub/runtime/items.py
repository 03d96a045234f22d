"""Per-item handling shared by every model kind: a bad input fills its own slot."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from hub.errors import HubError, ItemError

log = logging.getLogger(__name__)


def error_item(exc: BaseException) -> dict[str, Any]:
    """The ``{"error": {...}}`` slot for an input that failed."""
    if isinstance(exc, HubError):
        return {"error": exc.to_dict()}
    # An engine failure we did not foresee: report it on the item, keep the worker alive.
    log.exception("unexpected error on one input", exc_info=exc)
    return {
        "error": {"code": "internal_error", "message": f"{type(exc).__name__}: {str(exc)[:300]}"}
    }


def parse_item(parse: Callable[[Any], Any], raw: Any, max_chars: int) -> Any:
    """Check the generic limits, then run the input type's parser."""
    if isinstance(raw, str) and len(raw) > max_chars:
        raise ItemError(
            f"input is {len(raw)} characters long; the limit is {max_chars}", code="too_large"
        )
    return parse(raw)


def to_json_number(x: float) -> float | None:
    """JSON has no NaN or infinity: report them as null."""
    x = float(x)
    return x if math.isfinite(x) else None
