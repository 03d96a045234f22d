"""Model references: ``name`` (its default alias), ``name@alias`` and ``name:3``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.errors import InvalidRequest

_NAME = r"[a-z0-9][a-z0-9_.\-]{0,199}"
_ALIAS = r"[A-Za-z0-9_.\-]{1,100}"
_REF = re.compile(rf"^(?P<name>{_NAME})(?:@(?P<alias>{_ALIAS})|:(?P<version>\d{{1,9}}))?$")
NAME_RE = re.compile(rf"^{_NAME}$")


@dataclass(frozen=True)
class Ref:
    name: str
    alias: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}:{self.version}"
        return f"{self.name}@{self.alias}" if self.alias else self.name


def parse_ref(text: str) -> Ref:
    """Parse a reference; raise :class:`InvalidRequest` on anything else."""
    m = _REF.match(text or "")
    if not m:
        raise InvalidRequest(
            f"invalid model reference {text[:120]!r}: expected 'name', 'name@alias' or 'name:3'",
            code="invalid_reference",
        )
    version = m.group("version")
    return Ref(m.group("name"), m.group("alias"), int(version) if version else None)
