"""Job leases in the catalog (SQLite and PostgreSQL): heartbeats, re-queueing of lost jobs,
results that are never thrown away, and a fair share of the queue across owners."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from hub.catalog import CatalogStore
from hub.catalog.jobs import BUILD_TASK, JobStore
from hub.catalog.rows import JobRow, utcnow


@pytest.fixture
def jobs(store: CatalogStore) -> JobStore:
    return JobStore(store)


def _new(jobs: JobStore, owner: str | None = None, task: str = "md"):  # noqa: ANN202
    return jobs.create(model="physics.emt", version=1, task=task, input={}, params={}, owner=owner)


def _age(jobs: JobStore, job_id: str, seconds: float) -> None:
    """Pretend the job's last heartbeat was ``seconds`` ago."""
    with jobs.catalog.session() as s:
        s.execute(
            update(JobRow)
            .where(JobRow.id == job_id)
            .values(updated_at=utcnow() - timedelta(seconds=seconds))
        )


def test_b21_only_expired_leases_are_requeued(jobs: JobStore) -> None:
    a, b = _new(jobs), _new(jobs)
    assert jobs.claim_next("worker-A").id == a.id
    assert jobs.claim_next("worker-B").id == b.id
    _age(jobs, a.id, 60)  # A stopped renewing a minute ago; B's lease is fresh
    assert jobs.requeue_lost("lease expired", lease_s=30) == (1, 0)
    got_a, got_b = jobs.get(a.id), jobs.get(b.id)
    assert got_a.state == "queued" and got_a.worker is None and got_a.lost_attempts == 1
    assert got_a.error["code"] == "worker_lost" and "re-queued" in got_a.message
    assert got_b.state == "running" and got_b.worker == "worker-B"  # left alone
    # the heartbeat is what keeps a lease: B renews, A no longer holds anything
    assert jobs.heartbeat(b.id, "worker-B") and not jobs.heartbeat(a.id, "worker-A")


def test_b19_lost_job_fails_after_max_attempts(jobs: JobStore) -> None:
    job = _new(jobs)
    for attempt in (1, 2):
        assert jobs.claim_next(f"w{attempt}").id == job.id
        assert jobs.requeue_lost("died", worker=f"w{attempt}", max_attempts=3) == (1, 0)
        assert jobs.get(job.id).lost_attempts == attempt
    jobs.claim_next("w3")
    assert jobs.requeue_lost("died", worker="w3", max_attempts=3) == (0, 1)
    got = jobs.get(job.id)
    assert got.state == "failed" and got.error["code"] == "worker_lost"
    assert "3 attempt" in got.error["message"]


def test_b19_result_of_the_lease_holder_is_kept(jobs: JobStore) -> None:
    sha = "a" * 64
    job = _new(jobs)
    jobs.claim_next("old")
    _age(jobs, job.id, 60)
    jobs.requeue_lost("lease expired", lease_s=30)
    # re-queued but not yet taken again: the old worker's result is accepted, not discarded
    done = jobs.finish(job.id, "succeeded", result_sha256=sha, worker="old")
    assert done.state == "succeeded" and done.result_sha256 == sha and done.error is None
    # once another worker holds it, only that worker's result counts
    job2 = _new(jobs)
    jobs.claim_next("old")
    _age(jobs, job2.id, 60)
    jobs.requeue_lost("lease expired", lease_s=30)
    assert jobs.claim_next("new").id == job2.id
    stale = jobs.finish(job2.id, "succeeded", result_sha256="b" * 64, worker="old")
    assert stale.state == "running" and stale.result_sha256 is None
    done = jobs.finish(job2.id, "succeeded", result_sha256=sha, worker="new")
    assert done.state == "succeeded" and done.result_sha256 == sha


def test_release_gives_the_job_back_without_counting_an_attempt(jobs: JobStore) -> None:
    job = _new(jobs)
    jobs.claim_next("w")
    jobs.progress(job.id, 5, 10, "half", worker="w")
    assert jobs.release(job.id, "w", "its worker was stopped")
    got = jobs.get(job.id)
    assert got.state == "queued" and got.step == 0 and got.lost_attempts == 0
    assert not jobs.release(job.id, "w", "twice")  # only the holder of a running job


def test_b18_claim_next_shares_the_queue_across_owners(jobs: JobStore) -> None:
    alice = [_new(jobs, "alice") for _ in range(4)]  # alice queued first, and more
    bob = [_new(jobs, "bob") for _ in range(2)]
    anon = _new(jobs, None)
    order = [jobs.claim_next(f"w{i}") for i in range(7)]
    owners = {a.id: "alice" for a in alice} | {b.id: "bob" for b in bob} | {anon.id: None}
    got = [owners[j.id] for j in order]
    # each round, the owner with the fewest running jobs goes first (oldest job on a tie)
    assert got[:3] == ["alice", "bob", None], got
    assert got[3:5] == ["alice", "bob"], got
    assert got[5:] == ["alice", "alice"], got
    assert jobs.claim_next("w8") is None


def test_workers_never_claim_build_records(jobs: JobStore) -> None:
    record = jobs.announce_build("chemistry.solubility", minutes=2.5)
    assert record.task == BUILD_TASK and record.params["minutes"] == 2.5
    assert jobs.claim_next("w") is None
    assert jobs.build_of("chemistry.solubility").id == record.id
    again = jobs.announce_build("chemistry.solubility", minutes=2.5)  # a new server
    assert (
        jobs.get(record.id).state == "cancelled"
        and jobs.build_of("chemistry.solubility").id == again.id
    )
    claimed = jobs.claim(again.id, "builder-1")
    _age(jobs, claimed.id, 120)  # its builder was killed
    other = jobs.announce_build("physics.qm9-gap", minutes=4)
    jobs.requeue_lost("lease expired", lease_s=30)
    assert jobs.get(again.id).state == "cancelled"
    assert jobs.get(other.id).state == "cancelled"  # no builder will ever get to it
