"""``/v1/me``: who the service takes the caller for (user, key id, scopes, groups)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from hub.service.deps import Public

router = APIRouter(prefix="/v1", tags=["identity"])


class MePublic(BaseModel):
    user: str | None
    key_id: str | None
    scopes: list[str]
    groups: list[str]
    admin: bool


@router.get("/me", response_model=MePublic)
def me(caller: Public) -> MePublic:
    """The caller: ``user`` null when anonymous, with what ``HUB_ANONYMOUS`` allows."""
    return MePublic(
        user=caller.user,
        key_id=caller.key_id,
        scopes=sorted(caller.scopes),
        groups=sorted(caller.groups),
        admin=caller.is_admin,
    )
