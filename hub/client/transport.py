"""The client's one HTTP connection to a hub, and the translation of its answers into errors.

:class:`Transport` owns the persistent ``httpx.Client`` (base URL, timeout, ``Authorization``
header). :meth:`Transport.request` returns a 2xx answer's JSON; any other answer becomes the
hub's typed error (:mod:`hub.errors`) with the server's code and message, and a connection
that fails becomes :class:`~hub.errors.Unavailable`. The resources (:mod:`hub.client.http`,
:mod:`hub.client.calculator`, :mod:`hub.client.jobs`) sit on top; this module imports none of
them.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

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

    def __repr__(self) -> str:  # never the key
        return f"Transport({self.url!r})"

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON of a 2xx answer to ``method path`` (``kwargs`` as httpx's: ``json=``,
        ``params=``); raise the hub's typed error for any other answer."""
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
