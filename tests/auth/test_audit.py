"""The audit trail: rows for every write, prediction and job; a hash chain that ``hub audit
verify`` checks (SQLite and PostgreSQL); one chain with several writing processes; the admin
API; and what a row never holds (keys, inputs)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from hub.auth.audit import AuditEvent, AuditLog, audit_log_for, inputs_sha256, verify_chain
from hub.auth.audit_rows import GENESIS_SHA256
from tests.auth.support import CREATED_KEYS, CU2, Hub, make_hub

CU3 = {"symbols": ["Cu", "Cu", "Cu"], "positions": [[0, 0, 0], [0, 0, 2.5], [0, 2.5, 0]]}


def _flush(h: Hub) -> None:
    audit_log_for(h.store.url).flush()


def _real_run(h: Hub) -> None:
    """Predictions (keyed and anonymous), an explanation attempt, alias writes (allowed and
    refused), a job created and cancelled."""
    c = h.client
    assert c.post("/v1/models/auth.public/predict", json={"inputs": [CU2, CU3]},
                  headers=h.headers("user")).status_code == 200  # fmt: skip
    assert c.post("/v1/models/auth.public/predict", json={"inputs": [CU2]}).status_code == 200
    assert c.put("/v1/models/auth.public/aliases/production", json={"version": 1},
                 headers=h.headers("user")).status_code == 200  # fmt: skip
    assert c.put("/v1/models/auth.public/aliases/production", json={"version": 1},
                 headers=h.headers("other")).status_code == 403  # fmt: skip
    r = c.post("/v1/jobs", json={"model": "auth.public", "task": "relax", "input": CU2},
               headers=h.headers("user"))  # fmt: skip
    assert r.status_code == 202
    assert c.delete(f"/v1/jobs/{r.json()['id']}", headers=h.headers("user")).status_code == 200
    _flush(h)


def _verify(url: str) -> tuple[int, str]:
    from hub.cli import app

    result = CliRunner().invoke(app, ["audit", "verify"], env={"HUB_DATABASE_URL": url})
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


@pytest.fixture
def audited(db_url: str, tmp_path: Path):  # noqa: ANN201
    h = make_hub(db_url, tmp_path)
    with h.client:
        yield h
    audit_log_for(db_url).flush()
    h.store.close()


def test_a_real_run_is_recorded_row_by_row(audited: Hub) -> None:
    _real_run(audited)
    from hub.auth.audit import query_audit

    rows, _ = query_audit(audited.store.engine, limit=100)
    rows = sorted(rows, key=lambda r: r.id)
    actions = [(r.user, r.action, r.status) for r in rows]
    assert actions == [
        ("alice", "predict", 200),
        (None, "predict", 200),
        ("alice", "alias.set", 200),
        ("bob", "PUT /v1/models/{name}/aliases/{alias}", 403),
        ("alice", "job.create", 202),
        ("alice", "job.cancel", 200),
    ]
    first = rows[0]
    assert first.model == "auth.public" and first.version == 1
    assert first.n_inputs == 2 and first.cost == 5  # 2 + 3 atoms of a single point
    # the inputs' sha256, never the inputs
    expected = hashlib.sha256(orjson.dumps([CU2, CU3], option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert first.inputs_sha256 == expected == inputs_sha256([CU2, CU3])
    assert first.key_id and first.address == "testclient" and first.duration_us > 0
    assert first.request_id and first.prev_sha256 == GENESIS_SHA256
    assert rows[3].error == "not_owner" and rows[3].target == "alias=production"
    assert rows[4].cost == 2 * 500  # a relaxation: 2 atoms x its default 500 steps at most
    # keys never appear in the audit table, and neither do the structures
    dump = str([r.to_dict() for r in rows])
    assert not [k for k in CREATED_KEYS if k in dump]
    assert "positions" not in dump and "2.5" not in dump


def test_audit_verify_passes_then_fails_after_a_row_is_changed(audited: Hub) -> None:
    _real_run(audited)
    code, out = _verify(audited.store.url)
    assert code == 0, out
    assert "chain intact" in out
    with audited.store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET username = 'mallory' WHERE id = 2"))
    code, out = _verify(audited.store.url)
    assert code == 1
    assert "row 2: changed" in out


def test_audit_verify_fails_after_a_row_is_deleted(audited: Hub) -> None:
    _real_run(audited)
    assert _verify(audited.store.url)[0] == 0
    with audited.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 3"))
    code, out = _verify(audited.store.url)
    assert code == 1
    assert "row 3 missing" in out


def test_audit_verify_fails_after_the_newest_rows_are_deleted(audited: Hub) -> None:
    _real_run(audited)
    with audited.store.engine.begin() as conn:
        newest = conn.scalar(text("SELECT max(id) FROM audit_log"))
        conn.execute(text("DELETE FROM audit_log WHERE id >= :n"), {"n": newest - 1})
    code, out = _verify(audited.store.url)
    assert code == 1
    assert f"rows after {newest - 2} missing" in out


def test_audit_verify_fails_after_a_row_is_rehashed_but_its_successor_is_not(
    audited: Hub,
) -> None:
    """Recomputing a changed row's own sha256 is not enough: the next row links to the old."""
    from hub.auth.audit import AUDIT, row_sha256

    _real_run(audited)
    with audited.store.engine.begin() as conn:
        row = dict(conn.execute(select(AUDIT).where(AUDIT.c.id == 2)).mappings().one())
        row["status"] = 500
        conn.execute(
            text("UPDATE audit_log SET status = 500, sha256 = :s WHERE id = 2"),
            {"s": row_sha256(row)},
        )
    found = verify_chain(audited.store.engine)
    assert not found.ok
    assert found.problems == ["row 3: does not follow row 2"]


_WRITER = """
import sys
from hub.auth.audit import AuditEvent, AuditLog
url, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = AuditLog(url, flush_s=0.005, max_batch=7)
for i in range(n):
    log.record(AuditEvent("mp", user=name, target=str(i), inputs=[i]))
log.close()
"""


def test_one_chain_with_several_writing_processes(store) -> None:  # noqa: ANN001
    """Three processes append at once to one catalog: one chain, no row lost or duplicated."""
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, store.url, f"p{i}", "120"])
        for i in range(3)
    ]
    assert [p.wait(120) for p in procs] == [0, 0, 0]
    found = verify_chain(store.engine)
    assert found.ok, found.problems
    with store.engine.connect() as conn:
        per_user = dict(
            conn.execute(
                text(
                    "SELECT username, count(*) FROM audit_log WHERE action = 'mp' GROUP BY username"
                )
            ).all()
        )
    assert per_user == {"p0": 120, "p1": 120, "p2": 120}
    assert found.rows >= 360 and found.head_id == found.rows


def test_audit_log_batches_and_flushes(store) -> None:  # noqa: ANN001
    log = AuditLog(store.url, flush_s=60)  # nothing written before a flush
    for i in range(50):
        log.record(AuditEvent("batch", target=str(i)))
    with store.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM audit_log")) == 0
    log.flush()
    with store.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM audit_log")) == 50
    log.record(AuditEvent("batch", target="last"))
    log.close()  # at shutdown: written
    found = verify_chain(store.engine)
    assert found.ok and found.rows == 51


def test_record_is_cheap(store) -> None:  # noqa: ANN001
    """Recording only queues: far under the 0.2 ms budget of a prediction."""
    import statistics
    import time

    log = AuditLog(store.url, flush_s=0.5)
    times = []
    for i in range(2000):
        t = time.perf_counter()
        log.record(AuditEvent("predict", user="alice", inputs=["CCO"], n_inputs=1, target=str(i)))
        times.append(time.perf_counter() - t)
    log.close()
    assert statistics.median(times) < 50e-6
    assert verify_chain(store.engine).rows == 2000


def test_audit_api_is_for_admins_with_filters_and_pages(audited: Hub) -> None:
    _real_run(audited)
    c = audited.client
    assert c.get("/v1/audit").status_code == 401
    assert c.get("/v1/audit", headers=audited.headers("user")).status_code == 403
    admin = audited.headers("admin")
    r = c.get("/v1/audit", headers=admin)
    assert r.status_code == 200
    body = r.json()
    assert body["count"] >= 6
    ids = [e["id"] for e in body["data"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    r = c.get("/v1/audit", params={"user": "alice", "action": "predict"}, headers=admin)
    assert [(e["user"], e["action"], e["n_inputs"]) for e in r.json()["data"]] == [
        ("alice", "predict", 2)
    ]
    r = c.get("/v1/audit", params={"model": "auth.public", "limit": 2}, headers=admin)
    page1 = r.json()
    r = c.get("/v1/audit", params={"model": "auth.public", "limit": 2, "offset": 2}, headers=admin)
    page2 = r.json()
    assert len(page1["data"]) == 2 and page1["count"] == page2["count"] == 5
    assert {e["id"] for e in page1["data"]}.isdisjoint(e["id"] for e in page2["data"])
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = c.get("/v1/audit", params={"since": future}, headers=admin)
    assert r.json() == {"data": [], "count": 0}
    past = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    r = c.get("/v1/audit", params={"since": past, "until": future}, headers=admin)
    assert r.json()["count"] >= 6
    # reading the trail is itself recorded
    _flush(audited)
    r = c.get("/v1/audit", params={"action": "audit.read"}, headers=admin)
    assert r.json()["count"] >= 5
    assert c.get("/v1/audit", params={"limit": 0}, headers=admin).status_code == 422
    # times are ISO 8601 only, as the OpenAPI says (not a number read as a Unix time)
    for bad in ("1700000000", "yesterday", "2026-13"):
        assert c.get("/v1/audit", params={"since": bad}, headers=admin).status_code == 422
    r = c.get("/v1/audit", params={"since": "2000-01-01T00:00:00Z"}, headers=admin)
    assert r.status_code == 200


def test_hub_audit_lists_rows_as_json(audited: Hub) -> None:
    from hub.cli import app

    _real_run(audited)
    env = {"HUB_DATABASE_URL": audited.store.url}
    result = CliRunner().invoke(app, ["audit", "--json", "--action", "job.create"], env=env)
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.output)
    assert data["count"] == 1 and data["data"][0]["user"] == "alice"
    result = CliRunner().invoke(app, ["audit", "--user", "bob"], env=env)
    assert result.exit_code == 0 and "1 of 1 rows" in result.output


def test_an_event_with_huge_integers_does_not_stop_its_batch(store) -> None:  # noqa: ANN001
    """A hostile request's 2^64 version or cost is clamped to its column, so the events
    queued with it are written too (once, one such event failed a batch of 37)."""
    log = AuditLog(store.url, flush_s=60)
    log.record(AuditEvent("predict", target="before"))
    log.record(AuditEvent("predict", version=2**64, n_inputs=2**70, cost=2**80, status=2**40))
    log.record(AuditEvent("predict", target="after"))
    log.flush()
    with store.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM audit_log")) == 3
        assert conn.scalar(text("SELECT max(version) FROM audit_log")) == 2**31 - 1
    log.close()
    assert verify_chain(store.engine).ok
