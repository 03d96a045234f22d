"""One Dask client per process: an existing scheduler, or an embedded ``LocalCluster``."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from hub.config import Settings

log = logging.getLogger(__name__)

# Each worker runs one task at a time on one core: no library may start a thread per core.
WORKER_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}

_lock = threading.Lock()
_clients: dict[str, Any] = {}
_cluster: Any = None
_runtimes: dict[tuple[str, str], Any] = {}


def _cores() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return max(os.cpu_count() or 1, 1)


def local_cluster(n_workers: int = 0) -> Any:
    """The embedded ``LocalCluster`` of this process, started on first call: ``n_workers``
    worker processes (0: one per core), one thread each, with :data:`WORKER_ENV`."""
    global _cluster
    with _lock:
        if _cluster is None:
            import dask
            from distributed import LocalCluster

            n = n_workers or _cores()
            environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
            dask.config.set(
                {
                    "distributed.nanny.pre-spawn-environ": environ | WORKER_ENV,
                    # A worker that died (a job past its limits ends its process) is started
                    # again by its nanny; Dask's default closes a nanny whose new worker is not
                    # back within 15 s (a busy host needs longer to import the plugins), and the
                    # cluster would shrink for good.
                    "distributed.deploy.lost-worker-timeout": "1 day",
                }
            )
            _cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                preload=["hub.engine.preload"],
            )
            log.info("embedded Dask cluster at %s with %d workers", _cluster.scheduler_address, n)
        return _cluster


def client(settings: Settings) -> Any:
    """This process's Dask client for ``settings``: to ``settings.dask_scheduler`` when set,
    else to the embedded cluster (started now if need be)."""
    from distributed import Client

    address = settings.dask_scheduler or local_cluster(settings.dask_workers).scheduler_address
    with _lock:
        c = _clients.get(address)
        if c is None or c.status in ("closed", "closing"):
            c = _clients[address] = Client(address, set_as_default=False, timeout=30)
        return c


def shutdown() -> None:
    """Close the clients and the embedded cluster of this process (its workers stop)."""
    global _cluster
    with _lock:
        for c in _clients.values():
            try:
                c.close()
            except Exception:  # noqa: BLE001 - closing what may already be gone
                pass
        _clients.clear()
        if _cluster is not None:
            try:
                _cluster.close()
            except Exception:  # noqa: BLE001
                pass
            _cluster = None


def worker_runtime(settings: Settings) -> Any:
    """The runtime of ``settings``'s catalog in this (worker) process, made once: models it
    loads stay warm for every later task."""
    key = (settings.database_url, str(settings.artifacts_dir))
    rt = _runtimes.get(key)
    if rt is None:
        with _lock:
            rt = _runtimes.get(key)
            if rt is None:
                from hub.runtime import Runtime

                rt = _runtimes[key] = Runtime(settings)
    return rt
