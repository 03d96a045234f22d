"""The web catalog: the index at ``/`` and a card per model at ``/models/{name}``.

Server-rendered with Jinja2 (every catalog string autoescaped), a little plain JavaScript from
``/static`` for live filtering, copy buttons and the try-it form; nothing loads from outside the
server (see :mod:`hub.service.web_security`).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader

from hub import __version__
from hub.catalog.summaries import ModelSummary
from hub.errors import NotFound
from hub.service.cards import (
    HEADLINE_NAMES,
    format_metric,
    format_value,
    headline_metric,
    metric_tables,
    model_card,
)
from hub.service.deps import CatalogDep, RuntimeDep
from hub.service.web_security import PAGE_HEADERS

HERE = Path(__file__).parent
router = APIRouter(tags=["web"], include_in_schema=False)
env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,  # every template, whatever its name: catalog text is never markup
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals["hub_version"] = __version__
env.globals["metric_tables"] = metric_tables
env.globals["format_metric"] = format_metric
env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, sort_keys=True, default=str)
env.filters["fmt"] = format_value
env.filters["urlencode"] = lru_cache(maxsize=4096)(env.filters["urlencode"])  # tags repeat
env.filters["date"] = lambda ts: ts.strftime("%Y-%m-%d %H:%M UTC") if ts else "—"


def static_files() -> StaticFiles:
    """The stylesheet and script the pages use, to mount at ``/static``."""
    return StaticFiles(directory=HERE / "static")


@dataclass(frozen=True)
class IndexEntry:
    """One row of the index."""

    name: str
    title: str
    domain: str
    task: str
    input_type: str
    tags: tuple[str, ...]
    latest_version: int | None
    built_at: datetime | None
    headline: str
    headline_split: str
    search: str  # lower-case text the live filter matches

    @classmethod
    def of(cls, s: ModelSummary) -> IndexEntry:
        m = s.model
        h = headline_metric(s.metrics)
        split = ""
        if h is not None:
            # n counts splits for a mean ± std over splits; with no spread it is a sample size
            many = h.n and h.n > 1 and h.std is not None
            split = (
                f"{h.split}, {h.n} splits" if many else (f"{h.split}, n={h.n}" if h.n else h.split)
            )
        return cls(
            name=m.name,
            title=m.title,
            domain=m.domain,
            task=m.task,
            input_type=m.input_type,
            tags=m.tags,
            latest_version=s.latest_version,
            built_at=s.built_at,
            headline=format_metric(h) if h else "",
            headline_split=split,
            search=" ".join((m.name, m.title, m.description, *m.tags)).lower(),
        )


def render(template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


class PageCache:
    """Rendered pages by key, each kept while the catalog's stamp
    (:meth:`~hub.catalog.CatalogStore.catalog_stamp`) is the one it was rendered under: a
    registered version or an updated model invalidates it, in every worker process."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._pages: OrderedDict[Hashable, tuple[Hashable, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, stamp: Hashable) -> str | None:
        with self._lock:
            hit = self._pages.get(key)
            if hit is None or hit[0] != stamp:
                return None
            self._pages.move_to_end(key)
            return hit[1]

    def put(self, key: Hashable, stamp: Hashable, html: str) -> None:
        with self._lock:
            self._pages[key] = (stamp, html)
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


index_cache = PageCache()


@router.get("/", response_class=HTMLResponse)
def index(
    catalog: CatalogDep,
    q: str | None = Query(None, max_length=200),
    domain: str | None = Query(None, max_length=100),
    task: str | None = Query(None, max_length=100),
    tag: str | None = Query(None, max_length=100),
) -> HTMLResponse:
    """Every public model, filtered by text, domain, task and tag."""
    selected = {"q": q or "", "domain": domain or "", "task": task or "", "tag": tag or ""}
    key, stamp = (catalog.url, *selected.values()), catalog.catalog_stamp()
    html = index_cache.get(key, stamp)
    if html is None:
        summaries = catalog.list_model_summaries(
            q=q or None,
            domain=domain or None,
            task=task or None,
            tag=tag or None,
            metric_names=HEADLINE_NAMES,
        )
        html = env.get_template("index.html").render(
            entries=[IndexEntry.of(s) for s in summaries],
            facets=catalog.list_facets(),
            selected=selected,
        )
        index_cache.put(key, stamp, html)
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.get("/models/{name}", response_class=HTMLResponse)
def card_page(name: str, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The model card: what it predicts, its data, every version's metrics and plots, its
    aliases, how to call it, and a form to try it."""
    try:
        card = model_card(
            runtime.store, name, plugins=runtime.plugins, base_url=str(request.base_url)
        )
    except NotFound as exc:
        return render("not_found.html", status_code=404, message=exc.message)
    example = card.input.example if card.input else None
    lines = isinstance(example, str) or example is None
    return render(
        "card.html",
        card=card,
        try_mode="lines" if lines else "json",
        try_text=(example or "") if lines else json.dumps(example),
    )
