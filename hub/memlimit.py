"""An address-space limit (``RLIMIT_AS``) around one piece of work in a worker process: a job
on a Dask worker (:mod:`hub.jobs.runner`), a request in a simulator pool child
(:mod:`hub.runtime.procchild`). An allocation over the limit raises ``MemoryError``, which the
caller reports as ``memory_limit_exceeded``; the process lives on for the next piece."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def address_space_mb() -> int:
    """This process's mapped address space (``VmSize``), MiB; 0 where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


@contextmanager
def memory_limit(memory_mb: int) -> Iterator[int]:
    """For the block, limit this process's address space (``RLIMIT_AS``) to what it maps now
    plus ``memory_mb`` MiB, so that an allocation over it raises ``MemoryError``; the limit
    before is restored after. Yields the limit in MiB (0: none: ``memory_mb`` is 0, or the
    platform has no ``RLIMIT_AS``).

    The limit is the process's, not the thread's: a Dask worker (one job at a time) and a
    simulator pool child (one request at a time) run one task each, so it bounds that task;
    their other threads share it for that time."""
    try:
        import resource
    except ImportError:  # not on POSIX
        resource = None  # type: ignore[assignment]
    if memory_mb <= 0 or resource is None or not hasattr(resource, "RLIMIT_AS"):
        yield 0
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit_mb = address_space_mb() + int(memory_mb)
    limit = limit_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield limit // (1024 * 1024)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
