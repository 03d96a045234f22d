"""The web catalog: the index at ``/`` and a card per model at ``/models/{name}``.

Server-rendered with Jinja2 (every catalog string autoescaped), a little plain JavaScript from
``/static`` for live filtering, copy buttons and the try-it form; nothing loads from outside the
server (see :mod:`hub.service.web_security`).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader

from hub import __version__
from hub.auth.identity import Caller
from hub.cards.markdown import cost_text
from hub.catalog.summaries import ModelSummary
from hub.errors import NotFound, Unauthenticated
from hub.service.cards import (
    HEADLINE_NAMES,
    format_metric,
    format_value,
    headline_metric,
    metric_tables,
    model_card,
    public_base_url,
)
from hub.service.deps import CatalogDep, GateDep, PageError, Public, RuntimeDep, require
from hub.service.web_security import (
    PAGE_HEADERS,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    csrf_ok,
    csrf_token,
)

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
env.globals["cost_text"] = cost_text  # a version's featurizer cost per input, with its basis
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


def session_context(request: Request, caller: Caller | None) -> dict[str, Any]:
    """What every page shows of the session: who is signed in, and the CSRF token of the
    forms that change something (sign out)."""
    session = request.cookies.get(SESSION_COOKIE)
    signed_in = session is not None and caller is not None and caller.user is not None
    if not signed_in:
        return {"me": None, "csrf": ""}
    return {"me": caller.user, "csrf": csrf_token(session)}  # type: ignore[union-attr]


def render(template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def view_key(caller: Caller) -> tuple[object, ...]:
    """What a cached page depends on of its caller: their key (its CSRF token and name are in
    the page), user, groups and admin rights."""
    return (caller.key_id, caller.user, tuple(sorted(caller.groups)), caller.is_admin)


ReaderPage = Annotated[Caller, Depends(require("read", page=True))]
ModelPage = Annotated[Caller, Depends(require("read", model="name", page=True))]


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
    request: Request,
    catalog: CatalogDep,
    caller: ReaderPage,
    q: str | None = Query(None, max_length=200),
    domain: str | None = Query(None, max_length=100),
    task: str | None = Query(None, max_length=100),
    tag: str | None = Query(None, max_length=100),
) -> HTMLResponse:
    """Every model the caller may see, filtered by text, domain, task and tag."""
    selected = {"q": q or "", "domain": domain or "", "task": task or "", "tag": tag or ""}
    session = session_context(request, caller)
    key = (catalog.url, *selected.values(), *view_key(caller), session["me"])
    stamp = catalog.catalog_stamp()
    html = index_cache.get(key, stamp)
    if html is None:
        summaries = catalog.list_model_summaries(
            q=q or None,
            domain=domain or None,
            task=task or None,
            tag=tag or None,
            metric_names=HEADLINE_NAMES,
            caller=caller,
        )
        html = env.get_template("index.html").render(
            entries=[IndexEntry.of(s) for s in summaries],
            facets=catalog.list_facets(caller=caller),
            selected=selected,
            **session,
        )
        index_cache.put(key, stamp, html)
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.get("/models/{name}", response_class=HTMLResponse)
def card_page(name: str, request: Request, runtime: RuntimeDep, caller: ModelPage) -> HTMLResponse:
    """The model card: what it predicts, its data, every version's metrics and plots, its
    aliases, how to call it, and a form to try it (a model one may not see: not found)."""
    session = session_context(request, caller)
    try:
        card = model_card(
            runtime.store, name, plugins=runtime.plugins, base_url=public_base_url(request)
        )
    except NotFound as exc:
        return render("not_found.html", status_code=404, message=exc.message, **session)
    example = card.input.example if card.input else None
    lines = isinstance(example, str) or example is None
    return render(
        "card.html",
        card=card,
        try_mode="lines" if lines else "json",
        try_text=(example or "") if lines else json.dumps(example),
        **session,
    )


# -- sign in by pasting a key -----------------------------------------------------------------
PRE_CSRF_COOKIE = "hub_signin_csrf"  # double-submit token of the sign-in form (no session yet)


async def _form(request: Request) -> dict[str, str]:
    """A small url-encoded form (first value of each field)."""
    body = (await request.body())[:16384].decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body, max_num_fields=10).items()}


def _signin_page(request: Request, caller: Caller, *, error: str = "", status: int = 200):  # noqa: ANN202
    token = request.cookies.get(PRE_CSRF_COOKIE) or secrets.token_urlsafe(24)
    page = render(
        "signin.html",
        status_code=status,
        error=error,
        signin_csrf=token,
        **session_context(request, caller),
    )
    page.set_cookie(
        PRE_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/signin",
    )
    return page


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, caller: Public) -> HTMLResponse:
    """A form to paste an API key into."""
    return _signin_page(request, caller)


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request, gate: GateDep, caller: Public) -> HTMLResponse:
    """Check the pasted key and keep it in an HttpOnly, SameSite=Strict session cookie."""
    form = await _form(request)
    expected = request.cookies.get(PRE_CSRF_COOKIE)
    if not expected or not secrets.compare_digest(expected, form.get("csrf", "")):
        return _signin_page(request, caller, error="the form expired: try again", status=403)
    key = form.get("key", "").strip()
    try:
        gate.caller(key)
        if not key:
            raise Unauthenticated("no key")
    except Unauthenticated:
        return _signin_page(request, caller, error="that key is not valid", status=401)
    done = RedirectResponse("/", status_code=303, headers=PAGE_HEADERS)
    done.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    done.delete_cookie(PRE_CSRF_COOKIE, path="/signin")
    return done


@router.post("/signout", response_class=HTMLResponse)
async def signout(request: Request, caller: Public) -> HTMLResponse:
    """End the session (the form carries the session's CSRF token)."""
    form = await _form(request)
    if not csrf_ok(request.cookies.get(SESSION_COOKIE), form.get("csrf")):
        return render("not_found.html", status_code=403, message="the form expired: try again")
    done = RedirectResponse("/", status_code=303, headers=PAGE_HEADERS)
    done.delete_cookie(SESSION_COOKIE, path="/")
    return done


def page_error(request: Request, exc: PageError) -> HTMLResponse:
    """A page refused by its policy: the sign-in form for a missing key (401), else a page
    with the error's status and message (a model one may not see: 'no model named ...')."""
    caller = getattr(request.state, "caller", None)
    if exc.status == 401 or caller is None:
        error = "sign in with an API key to see this page"
        return _signin_page(request, caller, error=error, status=401)
    context = session_context(request, caller)
    return render("not_found.html", status_code=exc.status, message=exc.message, **context)
