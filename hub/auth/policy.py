"""Who may see and change what.

A model is ``public`` (everyone who may read the catalog), ``group:<name>`` (members of that
group) or ``private``; its owner and admins always see it. A model a caller may not see does
not exist for them: the catalog filters it out in SQL (:func:`visible_clause`) and a lookup
by name answers 404, never a 403 that would confirm the name.

Owners and admins change a model's visibility and aliases; nobody else. Only admins give a
model to another owner.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, false, or_, true

from hub.auth.identity import SCOPES, Caller
from hub.errors import InvalidRequest

# HUB_ANONYMOUS: what a caller without a key may do
ANONYMOUS_LEVELS: dict[str, frozenset[str]] = {
    "predict": frozenset({"read", "predict"}),  # the embedded default: the README's curl works
    "read": frozenset({"read"}),
    "none": frozenset(),
}
DEFAULT_ANONYMOUS = "predict"
NAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,62}$")  # user and group names
RESERVED_USERS = frozenset({"hub", "admin", "anonymous", "system"})
GROUP_PREFIX = "group:"


def anonymous_scopes(level: str | None) -> frozenset[str]:
    """The scopes of a caller without a key under ``HUB_ANONYMOUS=level``."""
    key = (level or DEFAULT_ANONYMOUS).strip().lower()
    if key not in ANONYMOUS_LEVELS:
        raise InvalidRequest(
            f"HUB_ANONYMOUS must be one of {', '.join(ANONYMOUS_LEVELS)}, not {level!r}"
        )
    return ANONYMOUS_LEVELS[key]


def parse_scopes(text: str | list[str] | tuple[str, ...]) -> frozenset[str]:
    """``read,predict`` (or a list) as a set of known scopes; anything else is a 422."""
    items = text.split(",") if isinstance(text, str) else list(text)
    scopes = frozenset(s.strip().lower() for s in items if s.strip())
    unknown = scopes - set(SCOPES)
    if unknown:
        raise InvalidRequest(
            f"unknown scope(s) {', '.join(sorted(unknown))}; scopes: {', '.join(SCOPES)}",
            code="unknown_scope",
        )
    if not scopes:
        raise InvalidRequest("a key needs at least one scope", code="unknown_scope")
    return scopes


def check_name(name: str, what: str = "user") -> str:
    """A user or group name: lower-case letters, digits, ``_ . -``, at most 63 characters."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidRequest(
            f"invalid {what} name {str(name)[:80]!r}: lower-case letters, digits, '_', '.', '-'",
            code=f"invalid_{what}_name",
        )
    if what == "user" and name in RESERVED_USERS:
        raise InvalidRequest(f"{name!r} is reserved", code="invalid_user_name")
    return name


def check_visibility(value: str) -> str:
    """``public``, ``private`` or ``group:<name>``."""
    if value in ("public", "private"):
        return value
    if isinstance(value, str) and value.startswith(GROUP_PREFIX):
        check_name(value[len(GROUP_PREFIX) :], "group")
        return value
    raise InvalidRequest(
        f"visibility must be 'public', 'private' or 'group:<name>', not {str(value)[:80]!r}",
        code="invalid_visibility",
    )


def can_see(caller: Caller, owner: str, visibility: str) -> bool:
    """True when ``caller`` may see a model of ``owner`` with ``visibility``."""
    if caller.is_admin or visibility == "public":
        return True
    if caller.user is not None and owner == caller.user:
        return True
    if visibility.startswith(GROUP_PREFIX):
        return visibility[len(GROUP_PREFIX) :] in caller.groups and caller.user is not None
    return False


def can_manage(caller: Caller, owner: str) -> bool:
    """True when ``caller`` may change a model's aliases and visibility (its owner, admins)."""
    return caller.is_admin or (caller.user is not None and caller.user == owner)


def visible_clause(caller: Caller) -> ColumnElement[bool]:
    """The SQL condition on :class:`~hub.catalog.rows.ModelRow` of the models ``caller`` may
    see (imported here: the catalog imports this module)."""
    from hub.catalog.rows import ModelRow

    if caller.is_admin:
        return true()
    terms: list[ColumnElement[bool]] = [ModelRow.visibility == "public"]
    if caller.user is not None:
        terms.append(ModelRow.owner == caller.user)
        if caller.groups:
            terms.append(ModelRow.visibility.in_([GROUP_PREFIX + g for g in sorted(caller.groups)]))
    return or_(*terms) if terms else false()
