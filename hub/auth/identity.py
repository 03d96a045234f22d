"""Who is calling: a :class:`Caller`, resolved once per request from the API key (or none).

The caller never holds the key's secret: ``key_id`` is the key's public prefix, safe to log
and to write into the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

# every scope a key can hold; ``admin`` implies all the others
SCOPES: tuple[str, ...] = ("read", "predict", "jobs", "publish", "admin")


@dataclass(frozen=True)
class Caller:
    """The identity behind one request.

    ``user`` is None for an anonymous caller; ``scopes`` are what the key (or, anonymously,
    ``HUB_ANONYMOUS``) allows; ``groups`` the user's groups; ``address`` the client address."""

    user: str | None
    key_id: str | None
    scopes: frozenset[str]
    groups: frozenset[str] = frozenset()
    address: str | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes and self.user is not None

    @property
    def anonymous(self) -> bool:
        return self.user is None

    def has(self, scope: str) -> bool:
        """True when the caller holds ``scope`` (an admin holds every scope)."""
        return scope in self.scopes or self.is_admin

    def with_address(self, address: str | None) -> Caller:
        return Caller(self.user, self.key_id, self.scopes, self.groups, address)


# no key, nothing allowed; the service widens anonymous scopes from HUB_ANONYMOUS
ANONYMOUS = Caller(user=None, key_id=None, scopes=frozenset(), groups=frozenset(), address=None)
# the process itself (CLI against a local catalog, builds, workers): sees and may do everything
SYSTEM = Caller(user="hub", key_id=None, scopes=frozenset(SCOPES), groups=frozenset())
