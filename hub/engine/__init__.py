"""The hub's heavy work on Dask distributed: screens (:mod:`hub.screening`) and jobs.

- :func:`client` gives the process's Dask client: to ``HUB_DASK_SCHEDULER`` when set (an
  existing cluster, any number of hosts), else to an embedded ``LocalCluster`` started on first
  use (worker processes sized to the cores, one thread each, ``OMP_NUM_THREADS=1``).
- :func:`worker_runtime` is what a task calls on a worker: one :class:`~hub.runtime.Runtime`
  per catalog in each worker process, so every model is loaded once and kept warm.
- :mod:`hub.engine.preload` is the ``--preload`` module of ``hub worker --scheduler``.
"""

from hub.engine.cluster import client, local_cluster, shutdown, worker_runtime

__all__ = ["client", "local_cluster", "shutdown", "worker_runtime"]
