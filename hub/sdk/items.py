"""Per-item helpers for a model kind's predictor: a bad input fills its own slot.

- :func:`parse_item` checks the generic limits (length, valid Unicode) and runs the input
  type's parser; it raises :class:`~hub.sdk.errors.ItemError`.
- :func:`error_item` turns an exception into that input's ``{"error": {...}}`` slot (an
  unforeseen one is logged and reported as ``internal_error``).
- :func:`to_json_number` reports NaN and infinity as ``None`` (JSON has neither).
"""

from hub.runtime.items import error_item, parse_item, to_json_number

__all__ = ["error_item", "parse_item", "to_json_number"]
