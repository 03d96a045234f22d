"""What the catalog's leased rows (jobs, screens) share: the lease clock, the owner-checked
lookup and the cancel request.

A row held under a lease (a job's ``worker``, a screen's ``driver``) is renewed by setting its
``updated_at`` to :func:`lease_clock`; one whose ``updated_at`` is older than the lease has lost
its holder. Cancelling such a row (:func:`request_cancel`) stops a queued one at once and flags
a running one, whose holder stops at its next report.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, update

from hub.auth.identity import Caller
from hub.catalog.rows import utcnow
from hub.catalog.store import CatalogStore
from hub.errors import NotFound


def lease_clock(catalog: CatalogStore) -> Any:
    """The time leases are stamped and compared with: the database server's clock on
    PostgreSQL (hosts sharing a catalog may disagree about the time), else this host's (UTC)."""
    if catalog.engine.dialect.name == "postgresql":
        return func.now()
    return utcnow()


def owned_row(s: Any, table: type, row_id: str, what: str, *, caller: Caller | None = None) -> Any:
    """The row ``row_id`` of ``table`` in session ``s``; with ``caller``, only their own
    (admins: any). Someone else's row gets the same answer as no row: ``NotFound`` with code
    ``<what>_not_found``."""
    row = s.get(table, row_id) if isinstance(row_id, str) and len(row_id) <= 36 else None
    if row is not None and caller is not None and not caller.is_admin:
        if caller.user is None or row.owner != caller.user:
            row = None
    if row is None:
        raise NotFound(f"no {what} {str(row_id)[:40]!r}", code=f"{what}_not_found")
    return row


def request_cancel(s: Any, table: Any, row_id: str, **queued: Any) -> None:
    """In session ``s``: a queued row of ``table`` becomes ``cancelled`` now (with the extra
    ``queued`` values), and every row gets ``cancel_requested`` (its holder stops)."""
    now = utcnow()
    s.execute(
        update(table)
        .where(table.id == row_id, table.state == "queued")
        .values(
            state="cancelled",
            finished_at=now,
            updated_at=now,
            message="cancelled before it started",
            **queued,
        )
    )
    s.execute(update(table).where(table.id == row_id).values(cancel_requested=True))
