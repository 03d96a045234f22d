"""What a prediction request returns to Python: :class:`Predictions` (one output per input)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Predictions:
    """The answer of ``predict`` or ``explain``: the model and version that ran, and one output
    dict per input in order (``{"value": ...}`` or ``{"error": {code, message}}``)."""

    model: str
    version: int
    outputs: list[dict[str, Any]]

    def values(self) -> list[Any]:
        """Each output's value, or ``None`` where that input failed."""
        return [o.get("value") for o in self.outputs]

    def errors(self) -> dict[int, dict[str, Any]]:
        """Position -> error for the inputs that failed."""
        return {i: o["error"] for i, o in enumerate(self.outputs) if "error" in o}
