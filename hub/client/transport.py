"""The client's one HTTP connection to a hub, and the translation of its answers into errors.

:class:`Transport` owns the persistent ``httpx.Client`` (base URL, timeout, ``Authorization``
header). :meth:`Transport.request` returns a 2xx answer's JSON; any other answer becomes the
hub's typed error (:mod:`hub.errors`) with the server's code and message, and a connection
that fails becomes :class:`~hub.errors.Unavailable`. The resources (:mod:`hub.client.http`,
:mod:`hub.client.calculator`, :mod:`hub.client.jobs`) sit on top; this module imports none of
them.

A JSON ``POST`` over the network (a prediction: what the remote ASE calculator sends at every
step) takes a leaner road, :class:`_Lean`: one persistent ``http.client`` connection with
``TCP_NODELAY``, the body encoded and the answer decoded by orjson. httpx's URL handling,
cookies and hooks cost about 0.5 ms a call, half the budget of a calculator step
(docs/performance.md). It is used only where it changes nothing else: no custom transport, no
proxy for the hub's address; anything else goes through httpx as before, and an answer that
is not a 2xx becomes the same typed error.
"""

from __future__ import annotations

import http.client
import os
import socket
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson

from hub.errors import HubError, RunError, Unavailable, error_from_payload


class Transport:
    """A persistent connection to the hub at ``url``. With a key (``api_key=...``, else the
    ``HUB_API_KEY`` environment variable) every request carries ``Authorization: Bearer``.
    ``transport`` is any httpx transport (``httpx.ASGITransport(app)``: no network)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        headers: dict[str, str] | None = None,
        api_key: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        key = api_key if api_key is not None else os.environ.get("HUB_API_KEY")
        headers = dict(headers or {})
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout_s, transport=transport, headers=headers
        )
        self._lean = _Lean.for_url(self.url, timeout_s, headers) if transport is None else None

    def __repr__(self) -> str:  # never the key
        return f"Transport({self.url!r})"

    def close(self) -> None:
        if self._lean is not None:
            self._lean.close()
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON of a 2xx answer to ``method path`` (``kwargs`` as httpx's: ``json=``,
        ``params=``); raise the hub's typed error for any other answer."""
        if self._lean is not None and method == "POST" and kwargs.keys() == {"json"}:
            status, content = self._lean.post_json(path, kwargs["json"])
            if 200 <= status < 300:
                return orjson.loads(content)
            raise error_of(httpx.Response(status, content=content))
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot reach the hub at {self.url}: {exc}") from exc
        if resp.is_success:
            return resp.json()
        raise error_of(resp)


def error_of(resp: httpx.Response) -> HubError:
    """The typed error of a non-2xx answer: the hub's ``{"error": {code, message}}`` if it
    sent one, else a :class:`~hub.errors.RunError` quoting the status and the body's start."""
    try:
        payload = resp.json().get("error") or {}
    except (ValueError, AttributeError):
        payload = {}
    if not payload:
        return RunError(f"HTTP {resp.status_code}: {resp.text[:300]}")
    return error_from_payload(resp.status_code, payload)


class _Lean:
    """A persistent ``http.client`` connection for JSON POSTs (see the module docstring)."""

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int | None,
        prefix: str,
        timeout_s: float,
        headers: dict[str, str],
    ) -> None:
        self.scheme, self.host, self.port, self.prefix = scheme, host, port, prefix
        self.timeout_s = timeout_s
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self.headers |= {"User-Agent": f"python-httpx/{httpx.__version__}"} | headers
        self._conn: http.client.HTTPConnection | None = None

    @classmethod
    def for_url(cls, url: str, timeout_s: float, headers: dict[str, str]) -> _Lean | None:
        """The lean road to ``url``, or None where httpx must go (a proxy, another scheme)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
            return None
        proxies = urllib.request.getproxies()
        if (parts.scheme in proxies or "all" in proxies) and not urllib.request.proxy_bypass(
            parts.hostname
        ):
            return None
        return cls(
            parts.scheme, parts.hostname, parts.port, parts.path.rstrip("/"), timeout_s, headers
        )

    def _connect(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout_s
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def post_json(self, path: str, body: Any) -> tuple[int, bytes]:
        """The status and body of the answer to ``POST path`` with ``body`` as JSON. A
        kept-alive connection the server had closed is opened again, once."""
        data = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
        for attempt in (0, 1):
            fresh = self._conn is None
            try:
                if self._conn is None:
                    self._conn = self._connect()
                # percent-encoded as httpx does (a reference with a space is the hub's to refuse)
                target = self.prefix + quote(path, safe="/:@%")
                self._conn.request("POST", target, data, self.headers)
                resp = self._conn.getresponse()
                content = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if fresh or attempt:
                    raise Unavailable(f"cannot reach the hub at {self.host}: {exc}") from exc
                continue  # a kept-alive connection the server had closed: once more
            if resp.will_close:
                self.close()
            return resp.status, content
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
