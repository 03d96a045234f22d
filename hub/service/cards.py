"""The model card for the HTTP layer: :mod:`hub.cards.card` (plain Python, shared by the
routes, the CLI, the web pages and the Markdown card) re-exported, and the base URL of a
request's usage examples."""

from __future__ import annotations

from typing import Any

from hub.cards.card import (
    DEFAULT_BASE_URL,
    GROUP_TITLES,
    GROUPS,
    HEADLINE_NAMES,
    MetricRow,
    MetricTable,
    format_metric,
    format_value,
    headline_metric,
    input_type_public,
    metric_group,
    metric_tables,
    model_card,
    pending_build,
    usage,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "GROUPS",
    "GROUP_TITLES",
    "HEADLINE_NAMES",
    "MetricRow",
    "MetricTable",
    "format_metric",
    "format_value",
    "headline_metric",
    "input_type_public",
    "metric_group",
    "metric_tables",
    "model_card",
    "pending_build",
    "public_base_url",
    "usage",
]


def public_base_url(request: Any) -> str:
    """The base URL of usage examples: ``HUB_PUBLIC_URL`` when set, else the request's own
    (whose ``Host`` has passed the allowed hosts), never an arbitrary client's header."""
    settings = request.app.state.runtime.settings
    return getattr(settings, "public_url", None) or str(request.base_url)
