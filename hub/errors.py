"""The hub's exceptions. Every public API raises only these (foreign errors are translated at
the boundary with ``raise ... from exc``).

    HubError                      base; ``code`` is the stable machine-readable name
    ├── CallerError               the caller can fix it; raised before any work (HTTP 4xx)
    │   ├── Unauthenticated       no key, or a key that is unknown or revoked     (401)
    │   ├── Forbidden             the key lacks the scope a route needs           (403)
    │   ├── NotFound              unknown model, version, alias or job, or one    (404)
    │   │                         the caller may not see (never a 403 that leaks a name)
    │   ├── Conflict              at odds with the target's state (a job that has (409)
    │   │   │                     ended, results not ready yet)
    │   │   └── AlreadyExists     a unique name taken                             (409)
    │   ├── InvalidRequest        malformed request or parameters                 (422)
    │   ├── PayloadTooLarge       body, batch or batch cost over a stated limit   (413)
    │   └── RateLimited           over a rate limit or quota; ``retry_after_s``   (429)
    ├── ItemError                 one input of a batch is bad: reported in its slot, not raised
    │                             out of a batch (``invalid_smiles``, ``unsupported_element``...)
    └── RunError                  failed while running (HTTP 500/503)
        ├── IntegrityError        an artifact does not match its sha256
        ├── PluginError           a domain plugin is missing or broken
        └── Unavailable           a dependency (database) is not reachable        (503)
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    code = "hub_error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.detail = detail

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail:
            out["detail"] = _json_safe(self.detail)
        return out


def _json_safe(value: Any) -> Any:
    """``value`` with integers beyond 64 bits as floats: a detail quoting a hostile input (an
    extxyz declaring 10^20 atoms) must not make the whole answer unserialisable."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        return float(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


class CallerError(HubError):
    code = "bad_request"
    status = 400


class Unauthenticated(CallerError):
    code = "unauthenticated"
    status = 401


class Forbidden(CallerError):
    code = "forbidden"
    status = 403


class NotFound(CallerError):
    code = "not_found"
    status = 404


class Conflict(CallerError):
    """At odds with the target's present state: cancel a job that has ended, read a result
    that is not ready. ``code`` says which (``job_finished``, ``screen_not_finished``...)."""

    code = "conflict"
    status = 409


class AlreadyExists(Conflict):
    code = "already_exists"


class InvalidRequest(CallerError):
    code = "invalid_request"
    status = 422


class PayloadTooLarge(CallerError):
    code = "payload_too_large"
    status = 413


class RateLimited(CallerError):
    """Over a limit; ``detail`` names it (``limit``) and says when to retry (``retry_after_s``)."""

    code = "rate_limited"
    status = 429


class ItemError(HubError):
    """A single input is bad. ``code`` names the kind (e.g. ``invalid_smiles``)."""

    code = "invalid_input"
    status = 422


class RunError(HubError):
    code = "run_error"
    status = 500


class IntegrityError(RunError):
    code = "artifact_corrupt"


class PluginError(RunError):
    code = "plugin_error"


class Unavailable(RunError):
    code = "unavailable"
    status = 503


_BY_CODE: dict[str, type[HubError]] = {
    c.code: c
    for c in (
        Unauthenticated,
        Forbidden,
        NotFound,
        Conflict,
        AlreadyExists,
        InvalidRequest,
        PayloadTooLarge,
        RateLimited,
        IntegrityError,
        PluginError,
        Unavailable,
        RunError,
        CallerError,
    )
}
_BY_STATUS: dict[int, type[HubError]] = {
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidRequest,
    429: RateLimited,
    503: Unavailable,
}


def error_from_payload(status: int, payload: dict[str, Any]) -> HubError:
    """Rebuild the typed error a server sent (used by the client)."""
    code = str(payload.get("code", "hub_error"))
    cls = (
        _BY_CODE.get(code)
        or _BY_STATUS.get(status)
        or (CallerError if 400 <= status < 500 else RunError)
    )
    err = cls(str(payload.get("message", "")), code=code, **(payload.get("detail") or {}))
    err.status = status
    return err
