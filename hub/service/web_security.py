"""Response headers of the catalog pages and of the images they show.

Pages load scripts, styles and images from this server only (``'self'``; images also from
``blob:`` URLs the try-it form makes of depictions). Images are served with a policy that
runs nothing, so an SVG opened on its own cannot run script either.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi.responses import Response

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
IMAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
}


def image_type(data: bytes) -> str:
    """``image/png`` or ``image/svg+xml`` from the first bytes; anything else is served as
    bytes to download, never as a page."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg")) and b"<svg" in data[:4096].lower():
        return "image/svg+xml"
    return "application/octet-stream"


def image_response(data: bytes, *, etag: str | None = None, max_age_s: int = 0) -> Response:
    """An image with :data:`IMAGE_HEADERS`; cacheable for ``max_age_s`` when it is immutable
    (a version's plot), with ``etag`` (its sha256)."""
    headers = dict(IMAGE_HEADERS)
    if etag:
        headers["ETag"] = f'"{etag}"'
    headers["Cache-Control"] = f"public, max-age={max_age_s}" if max_age_s else "no-store"
    return Response(data, media_type=image_type(data), headers=headers)


# -- web sign-in ----------------------------------------------------------------------------
# The session cookie holds the pasted key (HttpOnly: no script reads it; SameSite=Strict: no
# other site's page sends it). A request that changes something with only the cookie must
# also carry the CSRF token: a hash of the key, in the page (form field or X-CSRF-Token).
SESSION_COOKIE = "hub_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_MAX_AGE_S = 12 * 3600


def csrf_token(session: str) -> str:
    """The CSRF token of a session (its key): not the key, and useless without the cookie."""
    return hashlib.sha256(b"hub-csrf\x00" + session.encode("utf-8")).hexdigest()[:40]


def csrf_ok(session: str | None, token: str | None) -> bool:
    """True when ``token`` is the session's CSRF token (constant-time)."""
    if not session or not token:
        return False
    return hmac.compare_digest(csrf_token(session), token)
