"""The service's door: turn a request's key into a :class:`Caller` and say whether the
caller may see a model, with short-lived caches so that a prediction costs no extra query.

A verified key is remembered (by the sha256 of its token, never the token) for
``ttl_s`` seconds, so a revoked key or a changed visibility takes effect within that time in
other processes, and at once in the process that made the change.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import select

from hub.auth.identity import Caller
from hub.auth.keys import count_active_keys, hash_token, verify_token
from hub.auth.policy import anonymous_scopes, can_see
from hub.catalog.refs import parse_ref
from hub.catalog.rows import ModelRow
from hub.errors import Forbidden, NotFound, Unauthenticated

if TYPE_CHECKING:
    from hub.catalog.store import CatalogStore

log = logging.getLogger("hub.auth")
CACHE_TTL_S = 1.0
_MAX_CACHED = 10_000


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
        self._keys: dict[str, tuple[float, Caller]] = {}
        self._models: dict[str, tuple[float, tuple[str, str] | None]] = {}
        self._lock = threading.Lock()

    # -- who is calling -------------------------------------------------------------------
    def caller(self, token: str | None, *, address: str | None = None) -> Caller:
        """The caller behind ``token`` (None: anonymous). A keyed caller holds the key's
        scopes plus what anonymous callers may do (a key never gives less than no key)."""
        if not token:
            return self.anonymous.with_address(address)
        digest = hash_token(token)
        now = time.monotonic()
        hit = self._keys.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1].with_address(address)
        found = verify_token(self.store, token)
        caller = Caller(
            found.user, found.key_id, found.scopes | self.anonymous.scopes, found.groups, None
        )
        with self._lock:
            if len(self._keys) > _MAX_CACHED:
                self._keys.clear()
            self._keys[digest] = (now + self.ttl_s, caller)
        return caller.with_address(address)

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
        now = time.monotonic()
        hit = None if fresh else self._models.get(name)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self.store.session() as s:
            row = s.execute(
                select(ModelRow.owner, ModelRow.visibility).where(ModelRow.name == name)
            ).first()
        found = (row[0], row[1]) if row else None
        with self._lock:
            if len(self._models) > _MAX_CACHED:
                self._models.clear()
            self._models[name] = (now + self.ttl_s, found)
        return found

    def check_model(
        self, caller: Caller, ref: str, *, manage: bool = False, is_name: bool = False
    ) -> str:
        """The model name of ``ref`` (``name``, ``name@alias``, ``name:3``; with ``is_name``,
        a bare name) when ``caller`` may see it (404 otherwise, the same as for a model that
        does not exist); with ``manage``, 403 unless they own it or are admin."""
        name = ref if is_name else parse_ref(ref).name
        access = self.model_access(name, fresh=manage)
        if access is None or not can_see(caller, *access):
            raise NotFound(f"no model named {name[:200]!r}", code="model_not_found")
        if manage and not (caller.is_admin or (caller.user and caller.user == access[0])):
            raise Forbidden("only the model's owner or an admin may change it", code="not_owner")
        return name

    def cached_caller(self, token: str | None, *, address: str | None = None) -> Caller | None:
        """:meth:`caller` when it needs no query (anonymous, or a key verified within the
        cache's lifetime), else None: the service then authorizes on the event loop instead
        of paying a thread hop."""
        if not token:
            return self.anonymous.with_address(address)
        hit = self._keys.get(hash_token(token))
        if hit is None or hit[0] <= time.monotonic():
            return None
        return hit[1].with_address(address)

    def is_model_cached(self, name: str) -> bool:
        """Whether :meth:`model_access` of ``name`` would be answered with no query."""
        hit = self._models.get(name)
        return hit is not None and hit[0] > time.monotonic()

    def forget(self) -> None:
        """Drop the caches (after a key, user, group or visibility change in this process)."""
        with self._lock:
            self._keys.clear()
            self._models.clear()

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
