"""Users and groups in the catalog database (one transaction per verb, as the catalog)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.auth.policy import check_name
from hub.catalog.rows import GroupMemberRow, GroupRow, UserRow, as_utc
from hub.errors import NotFound

if TYPE_CHECKING:
    from hub.catalog.store import CatalogStore


@dataclass(frozen=True)
class User:
    name: str
    display_name: str
    disabled: bool
    groups: tuple[str, ...]
    created_at: datetime | None


@dataclass(frozen=True)
class Group:
    name: str
    members: tuple[str, ...]
    created_at: datetime | None


def user_row(s: Session, name: str) -> UserRow:
    row = s.scalar(select(UserRow).where(UserRow.name == name))
    if row is None:
        raise NotFound(f"no user {str(name)[:80]!r}", code="user_not_found")
    return row


def group_row(s: Session, name: str) -> GroupRow:
    row = s.scalar(select(GroupRow).where(GroupRow.name == name))
    if row is None:
        raise NotFound(f"no group {str(name)[:80]!r}", code="group_not_found")
    return row


def groups_of(s: Session, user_id: int) -> frozenset[str]:
    return frozenset(
        s.scalars(
            select(GroupRow.name).join(GroupMemberRow).where(GroupMemberRow.user_id == user_id)
        ).all()
    )


def _user(s: Session, row: UserRow) -> User:
    return User(
        row.name,
        row.display_name,
        row.disabled,
        tuple(sorted(groups_of(s, row.id))),
        as_utc(row.created_at),
    )


def create_user(store: CatalogStore, name: str, *, display_name: str = "") -> User:
    """A new user (409 when the name is taken)."""
    check_name(name, "user")
    with store.session() as s:
        row = UserRow(name=name, display_name=display_name[:200], disabled=False)
        s.add(row)
        s.flush()
        return _user(s, row)


def ensure_user(store: CatalogStore, name: str) -> User:
    """The user ``name``, created if needed."""
    try:
        return get_user(store, name)
    except NotFound:
        return create_user(store, name)


def get_user(store: CatalogStore, name: str) -> User:
    with store.session() as s:
        return _user(s, user_row(s, name))


def list_users(store: CatalogStore) -> list[User]:
    with store.session() as s:
        return [_user(s, r) for r in s.scalars(select(UserRow).order_by(UserRow.name)).all()]


def set_user_disabled(store: CatalogStore, name: str, disabled: bool) -> User:
    """Disable (every key of the user stops working) or enable a user."""
    with store.session() as s:
        row = user_row(s, name)
        row.disabled = disabled
        s.flush()
        return _user(s, row)


def create_group(store: CatalogStore, name: str) -> Group:
    check_name(name, "group")
    with store.session() as s:
        s.add(GroupRow(name=name))
        s.flush()
        return Group(name, (), None)


def _members(s: Session, group: GroupRow) -> tuple[str, ...]:
    return tuple(
        s.scalars(
            select(UserRow.name)
            .join(GroupMemberRow, GroupMemberRow.user_id == UserRow.id)
            .where(GroupMemberRow.group_id == group.id)
            .order_by(UserRow.name)
        ).all()
    )


def add_member(store: CatalogStore, group: str, user: str) -> Group:
    """Add ``user`` to ``group`` (a no-op when already a member)."""
    with store.session() as s:
        g, u = group_row(s, group), user_row(s, user)
        exists = s.scalar(
            select(GroupMemberRow.id).where(
                GroupMemberRow.group_id == g.id, GroupMemberRow.user_id == u.id
            )
        )
        if exists is None:
            s.add(GroupMemberRow(group_id=g.id, user_id=u.id))
            s.flush()
        return Group(g.name, _members(s, g), as_utc(g.created_at))


def remove_member(store: CatalogStore, group: str, user: str) -> Group:
    with store.session() as s:
        g, u = group_row(s, group), user_row(s, user)
        row = s.scalar(
            select(GroupMemberRow).where(
                GroupMemberRow.group_id == g.id, GroupMemberRow.user_id == u.id
            )
        )
        if row is None:
            raise NotFound(f"{user!r} is not in group {group!r}", code="member_not_found")
        s.delete(row)
        s.flush()
        return Group(g.name, _members(s, g), as_utc(g.created_at))


def list_groups(store: CatalogStore) -> list[Group]:
    with store.session() as s:
        return [
            Group(g.name, _members(s, g), as_utc(g.created_at))
            for g in s.scalars(select(GroupRow).order_by(GroupRow.name)).all()
        ]
