"""API keys: ``hub_<id>_<secret>``, where ``<id>`` is a short public prefix that finds the row
and ``<secret>`` 32 random bytes. Only the sha256 of the whole token is stored (a random
256-bit secret needs no slow hash); comparisons are constant-time; the token is shown once,
when it is created, and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Row, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.sql import Executable

from hub.auth.identity import Caller
from hub.auth.policy import parse_scopes
from hub.auth.users import user_row
from hub.catalog.rows import ApiKeyRow, GroupMemberRow, GroupRow, UserRow, as_utc, utcnow
from hub.errors import NotFound, Unauthenticated, Unavailable

if TYPE_CHECKING:
    from hub.catalog.store import CatalogStore

PREFIX = "hub_"
ID_CHARS = 12  # hex characters of the public id
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """A key as lists show it: never its secret, nor its hash."""

    id: str
    user: str
    scopes: tuple[str, ...]
    label: str
    created_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not _expired(self.expires_at)


def _expired(expires_at: datetime | None) -> bool:
    return expires_at is not None and as_utc(expires_at) <= utcnow()


def hash_token(token: str) -> str:
    """The sha256 (hex) of a token, as stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def split_token(token: str) -> str | None:
    """The public id of a well-formed token, else None (without looking at the secret)."""
    if not isinstance(token, str) or len(token) > 200 or not token.startswith(PREFIX):
        return None
    key_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or len(key_id) != ID_CHARS or not secret:
        return None
    if any(c not in "0123456789abcdef" for c in key_id):
        return None
    return key_id


def _public(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        user=row.user.name,
        scopes=tuple(sorted(row.scopes or ())),
        label=row.label,
        created_at=as_utc(row.created_at),
        last_used_at=as_utc(row.last_used_at),
        expires_at=as_utc(row.expires_at),
        revoked_at=as_utc(row.revoked_at),
    )


def create_key(
    store: CatalogStore,
    user: str,
    scopes: str | list[str] | tuple[str, ...],
    *,
    label: str = "",
    expires_in_days: float | None = None,
) -> tuple[ApiKey, str]:
    """A new key for ``user`` with ``scopes``: the key as listed, and the token (shown once;
    it is stored nowhere)."""
    wanted = parse_scopes(scopes)
    key_id = secrets.token_hex(ID_CHARS // 2)
    token = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    with store.session() as s:
        owner = user_row(s, user)
        row = ApiKeyRow(
            id=key_id,
            user_id=owner.id,
            key_hash=hash_token(token),
            scopes=sorted(wanted),
            label=label[:200],
            expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        row.user = owner
        s.add(row)
        s.flush()
        return _public(row), token


def list_keys(store: CatalogStore, *, user: str | None = None) -> list[ApiKey]:
    """Every key (or one user's), oldest first."""
    stmt = select(ApiKeyRow).join(UserRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
    if user is not None:
        stmt = stmt.where(UserRow.name == user)
    with store.session() as s:
        return [_public(r) for r in s.scalars(stmt).all()]


def revoke_key(store: CatalogStore, key_id: str) -> ApiKey:
    """Revoke a key by its public id (idempotent)."""
    with store.session() as s:
        row = s.get(ApiKeyRow, key_id) if isinstance(key_id, str) and len(key_id) <= 32 else None
        if row is None:
            raise NotFound(f"no key {str(key_id)[:40]!r}", code="key_not_found")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        s.flush()
        return _public(row)


def count_active_keys(store: CatalogStore) -> int:
    with store.session() as s:
        return s.scalar(select(func.count(ApiKeyRow.id)).where(ApiKeyRow.revoked_at.is_(None))) or 0


def read_rows(store: CatalogStore, stmt: Executable) -> list[Row]:
    """The rows of a read-only ``stmt``, on a plain connection (no ORM session: a fifth of
    the CPU time, and servers read every key and model in use again each second); 503
    :class:`~hub.errors.Unavailable` when the database does not answer."""
    try:
        with store.engine.connect() as conn:
            return list(conn.execute(stmt).all())
    except sa_exc.OperationalError as exc:
        raise Unavailable(f"catalog database unavailable: {exc.orig}") from exc


_VERIFY = (
    select(
        ApiKeyRow.key_hash,
        ApiKeyRow.scopes,
        ApiKeyRow.revoked_at,
        ApiKeyRow.expires_at,
        ApiKeyRow.last_used_at,
        UserRow.name,
        UserRow.disabled,
        GroupRow.name,
    )
    .join(UserRow, UserRow.id == ApiKeyRow.user_id)
    .outerjoin(GroupMemberRow, GroupMemberRow.user_id == UserRow.id)
    .outerjoin(GroupRow, GroupRow.id == GroupMemberRow.group_id)
)


def verify_token(store: CatalogStore, token: str, *, address: str | None = None) -> Caller:
    """The caller a token stands for; :class:`Unauthenticated` for a malformed, unknown,
    revoked or expired key, or a disabled user (one message for all: nothing to probe).
    One query (the key, its user and the user's groups)."""
    key_id = split_token(token)
    rows = read_rows(store, _VERIFY.where(ApiKeyRow.id == key_id)) if key_id else []
    row = rows[0] if rows else None
    # compare even when there is no row, so that timing does not tell the two apart
    good = hmac.compare_digest(hash_token(token or ""), row.key_hash if row else _DUMMY_HASH)
    if (
        row is None
        or not good
        or row.revoked_at is not None
        or _expired(row.expires_at)
        or row.disabled
    ):
        raise Unauthenticated("invalid, revoked or expired API key", code="invalid_key")
    now = utcnow()
    last = as_utc(row.last_used_at)
    if last is None or now - last > timedelta(minutes=5):  # a write at most every 5 min
        with store.session() as s:
            s.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=now))
    return Caller(
        user=row[5],
        key_id=key_id,
        scopes=frozenset(row.scopes or ()),
        groups=frozenset(r[7] for r in rows if r[7] is not None),
        address=address,
    )
