"""The service's door: turn a request's key into a :class:`Caller` and say whether the
caller may see a model, with short-lived caches so that a prediction costs no extra query.

A verified key is remembered (by the sha256 of its token, never the token) for
``ttl_s`` seconds, so a revoked key or a changed visibility takes effect within that time in
other processes, and at once in the process that made the change. An entry used after 70%
of its life is read again by a background thread (the request goes on with the entry, which
is still within its lifetime), so that a key or model in steady use never makes a request
wait for the catalog; an entry is never used past ``ttl_s`` after it was read from the
catalog.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import select

from hub.auth.background import Worker
from hub.auth.identity import Caller
from hub.auth.keys import count_active_keys, hash_token, read_rows, verify_token
from hub.auth.policy import anonymous_scopes, can_see
from hub.catalog.refs import parse_ref
from hub.catalog.rows import ModelRow
from hub.errors import Forbidden, HubError, NotFound, Unauthenticated

if TYPE_CHECKING:
    from hub.catalog.store import CatalogStore

log = logging.getLogger("hub.auth")
CACHE_TTL_S = 1.0
_MAX_CACHED = 10_000
# an entry used after this share of its lifetime is read again in the background (once): a
# key in steady use costs one query a lifetime, never a request's wait
REFRESH_AT = 0.7
_MAX_ADDRESSES = 256  # bound callers kept per key (a key used from many addresses)


class _KeyEntry:
    """A verified key: its caller until ``expires`` (monotonic seconds), checked again in the
    background when used after ``refresh``; ``bound`` holds the caller per client address."""

    __slots__ = ("bound", "caller", "expires", "refresh")

    def __init__(self, now: float, ttl_s: float, caller: Caller) -> None:
        self.expires = now + ttl_s
        self.refresh = now + ttl_s * REFRESH_AT
        self.caller = caller
        self.bound: dict[str | None, Caller] = {}

    def at(self, address: str | None) -> Caller:
        found = self.bound.get(address)
        if found is None:
            if len(self.bound) >= _MAX_ADDRESSES:
                self.bound.clear()
            found = self.bound[address] = self.caller.with_address(address)
        return found


class Gate:
    """Authentication and model visibility for one catalog."""

    def __init__(
        self, store: CatalogStore, *, anonymous: str | None = None, ttl_s: float = CACHE_TTL_S
    ) -> None:
        self.store = store
        level = anonymous if anonymous is not None else os.environ.get("HUB_ANONYMOUS")
        self.anonymous_level = (level or "predict").strip().lower()
        self.anonymous = Caller(None, None, anonymous_scopes(level), frozenset(), None)
        self.ttl_s = ttl_s
        self._keys: dict[str, _KeyEntry] = {}
        # name -> (expires, refresh after, (owner, visibility) or None)
        self._models: dict[str, tuple[float, float, tuple[str, str] | None]] = {}
        self._anonymous_at: dict[str | None, Caller] = {}
        self._lock = threading.Lock()
        self._refresher = Worker("hub-gate-refresh")

    # -- who is calling -------------------------------------------------------------------
    def caller(self, token: str | None, *, address: str | None = None) -> Caller:
        """The caller behind ``token`` (None: anonymous). A keyed caller holds the key's
        scopes plus what anonymous callers may do (a key never gives less than no key)."""
        if not token:
            return self.anonymous_at(address)
        digest = hash_token(token)
        hit = self._keys.get(digest)
        if hit is not None and hit.expires > time.monotonic():
            return hit.at(address)
        return self._verify(token, digest).at(address)

    def _verify(self, token: str, digest: str) -> _KeyEntry:
        """Check ``token`` in the catalog and remember it (:class:`Unauthenticated` if bad)."""
        now = time.monotonic()
        try:
            found = verify_token(self.store, token)
        except Unauthenticated:
            self._keys.pop(digest, None)
            raise
        entry = _KeyEntry(
            now,
            self.ttl_s,
            Caller(found.user, found.key_id, found.scopes | self.anonymous.scopes, found.groups),
        )
        with self._lock:
            if len(self._keys) > _MAX_CACHED:
                self._keys.clear()
            self._keys[digest] = entry
        return entry

    def anonymous_at(self, address: str | None) -> Caller:
        """The anonymous caller from ``address`` (one object per address)."""
        found = self._anonymous_at.get(address)
        if found is None:
            if len(self._anonymous_at) > _MAX_CACHED:
                self._anonymous_at.clear()
            found = self._anonymous_at[address] = self.anonymous.with_address(address)
        return found

    def authorize(self, caller: Caller, scope: str | None) -> None:
        """401 when an anonymous caller lacks ``scope``, 403 when a keyed one does."""
        if scope is None or caller.has(scope):
            return
        if caller.anonymous:
            raise Unauthenticated(
                f"this needs an API key with the {scope!r} scope (Authorization: Bearer <key>)",
                code="key_required",
                scope=scope,
            )
        raise Forbidden(f"this key lacks the {scope!r} scope", code="missing_scope", scope=scope)

    # -- what they may see ----------------------------------------------------------------
    def model_access(self, name: str, *, fresh: bool = False) -> tuple[str, str] | None:
        """(owner, visibility) of model ``name``, or None when there is none."""
        hit = None if fresh else self._models.get(name)
        if hit is not None and hit[0] > time.monotonic():
            return hit[2]
        return self._read_model(name)

    def _read_model(self, name: str) -> tuple[str, str] | None:
        now = time.monotonic()
        rows = read_rows(
            self.store, select(ModelRow.owner, ModelRow.visibility).where(ModelRow.name == name)
        )
        found = (rows[0][0], rows[0][1]) if rows else None
        with self._lock:
            if len(self._models) > _MAX_CACHED:
                self._models.clear()
            self._models[name] = (now + self.ttl_s, now + self.ttl_s * REFRESH_AT, found)
        return found

    def check_model(
        self, caller: Caller, ref: str, *, manage: bool = False, is_name: bool = False
    ) -> str:
        """The model name of ``ref`` (``name``, ``name@alias``, ``name:3``; with ``is_name``,
        a bare name) when ``caller`` may see it (404 otherwise, the same as for a model that
        does not exist); with ``manage``, 403 unless they own it or are admin."""
        name = ref if is_name else parse_ref(ref).name
        return self.check_access(caller, name, self.model_access(name, fresh=manage), manage=manage)

    @staticmethod
    def check_access(
        caller: Caller, name: str, access: tuple[str, str] | None, *, manage: bool = False
    ) -> str:
        """:meth:`check_model` once the model's ``access`` (owner, visibility) is known."""
        if access is None or not can_see(caller, *access):
            raise NotFound(f"no model named {name[:200]!r}", code="model_not_found")
        if manage and not (caller.is_admin or (caller.user and caller.user == access[0])):
            raise Forbidden("only the model's owner or an admin may change it", code="not_owner")
        return name

    def cached_caller(self, token: str | None, *, address: str | None = None) -> Caller | None:
        """:meth:`caller` when it needs no query (anonymous, or a key verified within the
        cache's lifetime), else None: the service then authorizes on the event loop instead
        of paying a thread hop. A key used after ``REFRESH_AT`` of its entry's life is
        verified again in the background."""
        if not token:
            return self.anonymous_at(address)
        digest = hash_token(token)
        hit = self._keys.get(digest)
        if hit is None:
            return None
        now = time.monotonic()
        if hit.expires <= now:
            return None
        if hit.refresh <= now:
            hit.refresh = float("inf")  # one refresh per entry
            self._refresher.submit(lambda: self._reverify(token, digest))
        return hit.at(address)

    def _reverify(self, token: str, digest: str) -> None:
        try:
            self._verify(token, digest)
        except HubError:  # revoked (dropped by _verify), or the catalog is unavailable
            pass

    def cached_model_access(self, name: str) -> tuple[bool, tuple[str, str] | None]:
        """``(True, access)`` when :meth:`model_access` of ``name`` needs no query (read again
        in the background after ``REFRESH_AT`` of the entry's life), else ``(False, None)``."""
        hit = self._models.get(name)
        if hit is None:
            return False, None
        now = time.monotonic()
        if hit[0] <= now:
            return False, None
        if hit[1] <= now:
            self._models[name] = (hit[0], float("inf"), hit[2])  # one refresh per entry
            self._refresher.submit(lambda: self._read_model(name))
        return True, hit[2]

    def forget(self) -> None:
        """Drop the caches (after a key, user, group or visibility change in this process)."""
        with self._lock:
            self._keys.clear()
            self._models.clear()
            self._anonymous_at.clear()

    def log_first_start(self) -> None:
        """On an empty hub (no key yet), say how to make the first admin key."""
        try:
            if count_active_keys(self.store) == 0:
                log.warning(
                    "no API keys yet: anonymous callers may %s; make the first admin key with "
                    "`hub keys create --user <name> --admin` (it is printed once)",
                    ", ".join(sorted(self.anonymous.scopes)) or "do nothing",
                )
        except Exception:  # a hint must never stop the server
            log.debug("could not count API keys", exc_info=True)

    def visible_refs(self, caller: Caller, refs: list[str]) -> list[str]:
        """The references (``name:3``, ``name@alias``) among ``refs`` whose model ``caller``
        may see (B29: /health/ready listed private models)."""
        out = []
        for ref in refs:
            name = ref.split(":", 1)[0].split("@", 1)[0]
            access = self.model_access(name)
            if access is not None and can_see(caller, *access):
                out.append(ref)
        return out
