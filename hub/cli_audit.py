"""``hub audit`` (the audit trail: a table or ``--json``), ``hub audit verify`` (the hash
chain) and ``hub quotas`` (per-user limits), on the local catalog: whoever runs these can
open its database."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from hub.cli_support import console, err, open_catalog, open_store

audit_app = typer.Typer(
    help="The audit trail: who did what, when (newest first); 'verify' checks its chain.",
    invoke_without_command=True,
)
quotas_app = typer.Typer(
    help="Per-user limits: requests per minute, items (cost units) per day.",
    no_args_is_help=True,
)


@audit_app.callback()
def audit_list(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option(help="only this user's rows")] = None,
    action: Annotated[str | None, typer.Option(help="predict, explain, job.create...")] = None,
    model: Annotated[str | None, typer.Option(help="only this model's rows")] = None,
    since: Annotated[datetime | None, typer.Option(help="from this time (UTC)")] = None,
    until: Annotated[datetime | None, typer.Option(help="before this time (UTC)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """The audit trail, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from hub.auth.audit import query_audit

    with open_catalog() as store:
        rows, count = query_audit(
            store.engine,
            user=user,
            action=action,
            model=model,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
    if as_json:
        data = [r.to_dict() for r in rows]
        print(json.dumps({"data": data, "count": count}, default=str, indent=1))
        return
    table = Table("id", "time (UTC)", "user", "key", "action", "model", "n", "status", "ms")
    for r in rows:
        model_ref = f"{r.model}:{r.version}" if r.model and r.version else (r.model or "")
        table.add_row(
            str(r.id),
            r.at.strftime("%Y-%m-%d %H:%M:%S"),
            r.user or "-",
            r.key_id or "-",
            r.action + (f" {r.target}" if r.target else ""),
            model_ref,
            str(r.n_inputs),
            str(r.status) + (f" {r.error}" if r.error else ""),
            f"{r.duration_us / 1000:.1f}",
        )
    console.print(table)
    console.print(f"{len(rows)} of {count} rows")


@audit_app.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """Recompute the hash chain: exit 1 if a row was deleted or changed. Record the head's
    sha256 it prints elsewhere: a later run that ends on the same row must print it again."""
    from hub.auth.audit import verify_chain

    store = open_store()
    try:
        found = verify_chain(store.engine)
    finally:
        store.close()
    if as_json:
        print(
            json.dumps(
                {
                    "ok": found.ok,
                    "rows": found.rows,
                    "head_id": found.head_id,
                    "head_sha256": found.head_sha256,
                    "problems": found.problems,
                    "more_problems": found.more_problems,
                }
            )
        )
    elif found.ok:
        console.print(
            f"[green]ok[/green]: {found.rows} rows, chain intact; "
            f"head: row {found.head_id}, sha256 {found.head_sha256}"
        )
    else:
        err.print(f"[red]the audit trail was altered[/red] ({found.rows} rows read):")
        for problem in found.problems:
            err.print(f"  - {problem}")
        if found.more_problems:
            err.print(f"  ... and {found.more_problems} more")
    if not found.ok:
        raise typer.Exit(1)


@quotas_app.command("set")
def quotas_set(
    user: str,
    per_minute: Annotated[
        int | None, typer.Option(min=0, help="requests per minute (0: no limit)")
    ] = None,
    items_per_day: Annotated[
        int | None, typer.Option(min=0, help="cost units per UTC day (0: no limit)")
    ] = None,
) -> None:
    """Set a user's limits (for all their keys); an option left out keeps the default."""
    from hub.auth.quotas import set_user_quota

    with open_catalog() as store:
        q = set_user_quota(store, user, requests_per_minute=per_minute, items_per_day=items_per_day)
    console.print(
        f"{q.user}: {q.requests_per_minute if q.requests_per_minute is not None else 'default'}"
        f" requests/min, {q.items_per_day if q.items_per_day is not None else 'default'} items/day"
        " (servers read it within 30 s)"
    )


@quotas_app.command("list")
def quotas_list() -> None:
    """Users with their own limits, and the defaults."""
    from hub.auth.quotas import list_user_quotas
    from hub.config import load_settings

    s = load_settings()
    store = open_store()
    try:
        found = list_user_quotas(store)
    finally:
        store.close()
    table = Table("user", "requests/min", "items/day")
    table.add_row("(key default)", str(s.rate_per_minute), str(s.items_per_day))
    table.add_row(
        "(anonymous, per address)", str(s.anonymous_rate_per_minute), str(s.anonymous_items_per_day)
    )
    for q in found:
        table.add_row(
            q.user,
            "default" if q.requests_per_minute is None else str(q.requests_per_minute),
            "default" if q.items_per_day is None else str(q.items_per_day),
        )
    console.print(table)


@quotas_app.command("clear")
def quotas_clear(user: str) -> None:
    """Back to the default limits for ``user``."""
    from hub.auth.quotas import clear_user_quota

    store = open_store()
    try:
        clear_user_quota(store, user)
    finally:
        store.close()
    console.print(f"{user}: default limits")
