"""Identity and access control: who is calling (:class:`Caller`), API keys, users, groups and
the policy that says which models a caller may see and which scopes a route needs."""

from hub.auth.identity import ANONYMOUS, SCOPES, Caller

__all__ = ["ANONYMOUS", "SCOPES", "Caller"]
