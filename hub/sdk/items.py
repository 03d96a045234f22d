"""Per-item helpers for a model kind's predictor: a bad input fills its own slot.

- :func:`each_item` is the batch loop: ``run(i, raw)`` per input, each failure in its own
  slot, and once the request's :class:`Budget` has run out (deadline, client gone) the rest
  get its ``deadline_exceeded`` error without running. A predictor's ``predict`` that takes
  ``budget=`` gets one from the runtime.
- :func:`parse_item` checks the generic limits (length, valid Unicode) and runs the input
  type's parser; it raises :class:`~hub.sdk.errors.ItemError`.
- :func:`error_item` turns an exception into that input's ``{"error": {...}}`` slot (an
  unforeseen one is logged and reported as ``internal_error``).
- :func:`to_json_number` reports NaN and infinity as ``None`` (JSON has neither).
"""

from hub.runtime.budget import Budget, each_item
from hub.runtime.items import error_item, parse_item, to_json_number

__all__ = ["Budget", "each_item", "error_item", "parse_item", "to_json_number"]
