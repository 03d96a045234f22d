"""``hub keys``, ``hub users``, ``hub groups`` and ``hub models visibility``: identities and
access, administered on the local catalog (whoever runs these can open its database).

A key is printed once, when it is made; the catalog keeps only its sha256.
"""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.table import Column, Table

from hub.cli_support import console, err, open_catalog, open_store

keys_app = typer.Typer(help="API keys: create (printed once), list, revoke.", no_args_is_help=True)
users_app = typer.Typer(help="Users: create, list, disable, enable.", no_args_is_help=True)
groups_app = typer.Typer(help="Groups of users, to share models with.", no_args_is_help=True)


def global_options(
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="HUB_API_KEY",
            show_envvar=True,
            help="API key for commands that call a running hub (--url)",
        ),
    ] = None,
) -> None:
    """A model hub for chemistry and physics."""
    if api_key:  # the client reads HUB_API_KEY: commands that call a server send it
        os.environ["HUB_API_KEY"] = api_key


# -- keys -------------------------------------------------------------------------------------
@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option(help="the key's user (created if new)")],
    scopes: Annotated[
        str, typer.Option(help="comma-separated: read, predict, jobs, publish, admin")
    ] = "read,predict",
    admin: Annotated[bool, typer.Option("--admin", help="every scope, admin included")] = False,
    label: Annotated[str, typer.Option(help="a note to tell keys apart")] = "",
    expires_days: Annotated[float | None, typer.Option(help="expire after N days")] = None,
) -> None:
    """Make a key for USER and print it once (it is stored only as a hash)."""
    from hub.auth import keys, users

    with open_catalog() as store:
        users.ensure_user(store, user)
        key, token = keys.create_key(
            store,
            user,
            "read,predict,jobs,publish,admin" if admin else scopes,
            label=label,
            expires_in_days=expires_days,
        )
    err.print(
        f"key [bold]{key.id}[/bold] for {key.user} ({', '.join(key.scopes)}); "
        "shown once, keep it now:"
    )
    print(token)


@keys_app.command("list")
def keys_list(
    user: Annotated[str | None, typer.Option(help="one user's keys")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Every key: id, user, scopes, created, last used, state (never the key itself)."""
    from hub.auth import keys

    store = open_store()
    try:
        found = keys.list_keys(store, user=user)
    finally:
        store.close()
    if as_json:
        rows = [
            {
                "id": k.id,
                "user": k.user,
                "scopes": list(k.scopes),
                "label": k.label,
                "created_at": k.created_at.isoformat() if k.created_at else None,
                "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                "active": k.active,
            }
            for k in found
        ]
        print(json.dumps(rows, indent=2))
        return
    table = Table("user", "scopes", "label", "created", "last used", "state")
    table.columns.insert(0, Column("id", no_wrap=True))
    for k in found:
        state = "active" if k.active else ("revoked" if k.revoked_at else "expired")
        table.add_row(
            k.id,
            k.user,
            ",".join(k.scopes),
            k.label,
            f"{k.created_at:%Y-%m-%d %H:%M}" if k.created_at else "",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never",
            state,
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke key KEY_ID (its public id, from `hub keys list`); servers refuse it within 1 s."""
    from hub.auth import keys

    with open_catalog() as store:
        key = keys.revoke_key(store, key_id)
    console.print(f"revoked key {key.id} of {key.user}")


# -- users ------------------------------------------------------------------------------------
@users_app.command("create")
def users_create(name: str, display_name: str = "") -> None:
    """Add user NAME (lower-case letters, digits, '_', '.', '-')."""
    from hub.auth import users

    with open_catalog() as store:
        users.create_user(store, name, display_name=display_name)
    console.print(f"user {name} created; make a key with `hub keys create --user {name}`")


@users_app.command("list")
def users_list() -> None:
    """Every user with their groups."""
    from hub.auth import users

    store = open_store()
    try:
        found = users.list_users(store)
    finally:
        store.close()
    table = Table("user", "groups", "state")
    for u in found:
        table.add_row(u.name, ",".join(u.groups), "disabled" if u.disabled else "active")
    console.print(table)


def _set_disabled(name: str, disabled: bool) -> None:
    from hub.auth import users

    with open_catalog() as store:
        users.set_user_disabled(store, name, disabled)
    console.print(f"user {name} {'disabled (all their keys stop)' if disabled else 'enabled'}")


@users_app.command("disable")
def users_disable(name: str) -> None:
    """Disable user NAME: every key of theirs stops working."""
    _set_disabled(name, True)


@users_app.command("enable")
def users_enable(name: str) -> None:
    """Enable user NAME again."""
    _set_disabled(name, False)


# -- groups -----------------------------------------------------------------------------------
@groups_app.command("create")
def groups_create(name: str) -> None:
    """Make group NAME (then `hub models visibility MODEL group:NAME`)."""
    from hub.auth import users

    with open_catalog() as store:
        users.create_group(store, name)
    console.print(f"group {name} created")


@groups_app.command("add")
def groups_add(group: str, user: str) -> None:
    """Add USER to GROUP."""
    from hub.auth import users

    with open_catalog() as store:
        g = users.add_member(store, group, user)
    console.print(f"group {g.name}: {', '.join(g.members)}")


@groups_app.command("remove")
def groups_remove(group: str, user: str) -> None:
    """Take USER out of GROUP."""
    from hub.auth import users

    with open_catalog() as store:
        g = users.remove_member(store, group, user)
    console.print(f"group {g.name}: {', '.join(g.members) or '(empty)'}")


@groups_app.command("list")
def groups_list() -> None:
    """Every group with its members."""
    from hub.auth import users

    store = open_store()
    try:
        found = users.list_groups(store)
    finally:
        store.close()
    table = Table("group", "members")
    for g in found:
        table.add_row(g.name, ", ".join(g.members))
    console.print(table)


# -- models -----------------------------------------------------------------------------------
def model_visibility(
    name: str,
    visibility: Annotated[
        str | None, typer.Argument(help="public, private or group:<name>; omit to show")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="give the model to this user")] = None,
) -> None:
    """Show or set who may see model NAME (and, with --owner, who owns it)."""
    with open_catalog() as store:
        if visibility is None and owner is None:
            model = store.get_model(name)
        else:
            model = store.set_visibility(name, visibility, owner=owner)
    console.print(f"{model.name}: {model.visibility}, owner {model.owner}")
