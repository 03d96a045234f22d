"""Settings read from the environment, once, into a frozen dataclass.

- ``HUB_HOME`` (current directory): where ``registry.db`` and ``artifacts/`` live
- ``HUB_DATABASE_URL`` (``sqlite:///$HUB_HOME/registry.db``): SQLAlchemy URL of the catalog
- ``HUB_ARTIFACTS_DIR`` (``$HUB_HOME/artifacts``): the content-addressed artifact folder
- ``HUB_ARTIFACTS_URL`` (unset): an fsspec URL of the artifact store instead of the folder
  (``file:///shared/hub-artifacts``, ``s3://bucket/hub``): what workers on other hosts write to
- ``HUB_DASK_SCHEDULER`` (unset): ``tcp://host:8786``, an existing Dask cluster for the heavy
  work (screens, jobs); unset: an embedded ``LocalCluster`` started by the hub
- ``HUB_DASK_WORKERS`` (the number of cores): worker processes of the embedded cluster (one
  thread each)
- ``HUB_SCREEN_CHUNK`` (5000): molecules per chunk of a screen (1,000 to 10,000 is sensible)
- ``HUB_SCREEN_MAX_BYTES`` (2 GiB): largest screen input file
- ``HUB_MAX_BATCH`` (20000): most inputs in one predict request
- ``HUB_MAX_BODY_BYTES`` (32 MiB): largest request body
- ``HUB_MAX_INPUT_CHARS`` (20000): longest single string input
- ``HUB_MAX_UPLOAD_BYTES`` (256 MiB): largest model upload (the whole body of ``POST
  /v1/models/{name}/versions``: the ``.keras`` file, its manifest and data files)
- ``HUB_SANDBOX_TIMEOUT_S`` (300) and ``HUB_SANDBOX_MEMORY_MB`` (4096): wall time and address
  space of the process that loads and runs an uploaded model before it is registered
- ``HUB_REDIS_URL`` (unset): Redis for the quota counters (in process when unset);
  ``HUB_REDIS_PREFIX`` (``hub:``) prefixes its keys
- ``HUB_RATE_PER_MINUTE`` (1200) and ``HUB_ITEMS_PER_DAY`` (10000000): limits per API key;
  ``HUB_ANONYMOUS_RATE_PER_MINUTE`` (300) and ``HUB_ANONYMOUS_ITEMS_PER_DAY`` (1000000) per
  client address without a key; 0 means no limit (items are cost units: hub.auth.quotas)
- ``HUB_AUDIT_FLUSH_S`` (1.0): most seconds an audit row waits in memory before its write
- ``HUB_DEADLINE_S`` (``keras=300,lightgbm=300,simulator=120,*=120``): seconds a predict
  request may run, per model kind (``*``: any other kind); items not done by then get
  ``deadline_exceeded``
- ``HUB_MAX_BATCH_COST`` (``keras=2000000,lightgbm=2000000,simulator=20000,*=200000``): most
  total estimated cost of one predict request, per model kind (413 ``too_expensive`` over it);
  an item's cost is its input type's estimate (atoms for structures, characters for SMILES)
- ``HUB_KIND_THREADS`` (``keras=8,lightgbm=8,simulator=2,*=4``): predictions of a kind running
  at once
  (others wait without holding a thread, so liveness and cheap models stay responsive)
- ``HUB_KIND_PROCESSES`` (``simulator=<cores>,*=0``): worker processes that run a model kind's
  predictions outside the API process (hub.runtime.procpool); 0 runs them in its threads
- ``HUB_KIND_MEMORY_MB`` (``simulator=4096,*=0``): how much one request may grow a worker
  process's address space, MiB (``RLIMIT_AS``; 0: no limit); an item over it gets
  ``memory_limit_exceeded`` and the process serves on
- ``HUB_PREDICTION_CACHE`` (``auto``): the prediction cache (hub.runtime.cache): ``auto`` is
  Redis when ``HUB_REDIS_URL`` is set, else an LRU in each process; ``memory``, ``redis``,
  ``off``. ``HUB_CACHE_ENTRIES`` (50000): outputs kept in process; ``HUB_CACHE_TTL_S`` (86400):
  life of a Redis entry; ``HUB_CACHE_KINDS`` (``keras=1,simulator=0,*=1``): model kinds cached
- ``HUB_MICROBATCH_MS`` (1.0): how long concurrent small requests for one model version are
  gathered into one call (0: never); ``HUB_MICROBATCH_MAX`` (64): most inputs of a request
  that is micro-batched, and of one gathered call; ``HUB_INLINE_MS`` (5.0): a prediction
  whose version's measured pace says it takes at most this runs on the event loop, not in a
  thread (a small structure through EMT)
- ``HUB_TELEMETRY`` (0): 1 turns on FastAPI's OpenTelemetry middleware (spans and metrics to
  the configured providers); off, it costs nothing per request
- ``HUB_ALLOWED_HOSTS`` (``localhost,127.0.0.1,::1,testserver`` plus ``HUB_SERVE_HOST``):
  ``Host`` names the server answers (``*`` for any); others get 400
- ``HUB_PUBLIC_URL`` (unset): the base URL written into usage examples and cards (unset: the
  request's own base URL, whose host has passed ``HUB_ALLOWED_HOSTS``)
- ``HUB_WARM`` (1): 0 serves without loading every model's default version at start-up
- ``XDG_CACHE_HOME`` (``~/.cache``): ``model-hub/`` under it holds what recipes may cache
  between builds (:func:`cache_home`, given to recipes as ``RecipeContext.cache_dir``)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

# A full batch must fit its deadline: 20,000 SMILES (HUB_MAX_BATCH) through the descriptor
# featurizer take about 100 s on an idle 2-core machine, twice that when it is shared.
DEFAULT_DEADLINE_S = {"keras": 300.0, "lightgbm": 300.0, "simulator": 120.0, "*": 120.0}
# a learned model of descriptors (keras, lightgbm) costs one unit per input: 2,000,000 inputs
DEFAULT_BATCH_COST = {
    "keras": 2_000_000.0,
    "lightgbm": 2_000_000.0,
    "simulator": 20_000.0,
    "*": 200_000.0,
}
DEFAULT_KIND_THREADS = {"keras": 8, "lightgbm": 8, "simulator": 2, "*": 4}
DEFAULT_CACHE_KINDS = {"keras": 1, "simulator": 0, "*": 1}
# simulators (xTB, EMT, universal potentials) hold the GIL and may abort: out of the API process
DEFAULT_KIND_PROCESSES = {"simulator": os.cpu_count() or 1, "*": 0}
DEFAULT_KIND_MEMORY_MB = {"simulator": 4096, "*": 0}
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "::1", "testserver")


def cache_home(env: Mapping[str, str] | None = None) -> Path:
    """The hub's cache folder, ``$XDG_CACHE_HOME/model-hub`` (``~/.cache/model-hub``): data a
    recipe may reuse between builds (descriptors), safe to delete. ``env``: the environment
    to read (default ``os.environ``); :attr:`Settings.cache_dir` holds it once loaded."""
    env = os.environ if env is None else env
    return Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "model-hub"


def parse_per_kind(text: str | None, default: dict[str, float], cast: type = float) -> dict:
    """``"keras=30,simulator=120"`` over ``default`` (unnamed kinds keep their defaults)."""
    out = dict(default)
    for part in (text or "").split(","):
        if part.strip():
            kind, _, value = part.partition("=")
            out[kind.strip()] = cast(value)
    return out


def allowed_hosts_from(env: dict[str, str] | os._Environ) -> tuple[str, ...]:
    """``HUB_ALLOWED_HOSTS`` (comma-separated), else the defaults plus ``HUB_SERVE_HOST``
    (the address ``hub serve`` binds, unless a wildcard)."""
    if env.get("HUB_ALLOWED_HOSTS"):
        return tuple(h.strip() for h in env["HUB_ALLOWED_HOSTS"].split(",") if h.strip())
    serve = env.get("HUB_SERVE_HOST", "").strip()
    extra = (serve,) if serve and serve not in ("0.0.0.0", "::") else ()
    return DEFAULT_ALLOWED_HOSTS + extra


@dataclass(frozen=True)
class Settings:
    database_url: str
    # a local folder, or an fsspec URL string (HUB_ARTIFACTS_URL): see hub.artifacts
    artifacts_dir: Path | str
    max_batch: int = 20_000
    max_body_bytes: int = 32 * 1024 * 1024
    max_input_chars: int = 20_000
    # publishing (hub.publishing): upload size, and the limits of the loading sandbox
    max_upload_bytes: int = 256 * 1024 * 1024
    sandbox_timeout_s: float = 300.0
    sandbox_memory_mb: int = 4096
    # quotas and rate limits (hub.auth.quotas); 0 means no limit
    redis_url: str | None = None
    redis_prefix: str = "hub:"
    rate_per_minute: int = 1200
    items_per_day: int = 10_000_000
    anonymous_rate_per_minute: int = 300
    anonymous_items_per_day: int = 1_000_000
    # audit trail (hub.auth.audit): seconds between batched writes
    audit_flush_s: float = 1.0

    # deadlines, batch cost and concurrency per model kind (``*``: any other kind)
    deadline_s: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DEADLINE_S))
    max_batch_cost: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_BATCH_COST))
    kind_threads: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_KIND_THREADS))
    kind_processes: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_KIND_PROCESSES))
    kind_memory_mb: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_KIND_MEMORY_MB))
    # prediction cache (hub.runtime.cache) and micro-batching (hub.runtime.batching)
    prediction_cache: str = "auto"
    cache_entries: int = 50_000
    cache_ttl_s: float = 86_400.0
    cache_kinds: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CACHE_KINDS))
    microbatch_ms: float = 1.0
    microbatch_max: int = 64
    inline_s: float = 0.005  # work expected to take at most this runs on the event loop
    telemetry: bool = False  # FastAPI's OpenTelemetry middleware (HUB_TELEMETRY=1)
    # Host header names answered (TrustedHostMiddleware) and the public base URL of examples
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    public_url: str | None = None
    # heavy work on Dask (hub.engine): an existing scheduler, else an embedded LocalCluster
    dask_scheduler: str | None = None
    dask_workers: int = 0  # 0: one per core
    screen_chunk: int = 5000
    screen_max_bytes: int = 2 * 1024**3
    # serving: load every model's default version at start-up (HUB_WARM=0: on first use)
    warm: bool = True
    # what recipes may reuse between builds ($XDG_CACHE_HOME/model-hub): RecipeContext.cache_dir
    cache_dir: Path = field(default_factory=cache_home)

    def for_kind(self, setting: str, kind: str) -> float:
        """The value of a per-kind setting (``deadline_s``, ``max_batch_cost``,
        ``kind_threads``, ``kind_processes``, ``kind_memory_mb``, ``cache_kinds``) for model
        kind ``kind``, else its ``*`` entry."""
        values: dict[str, float] = getattr(self, setting)
        return values.get(kind, values.get("*", next(iter(values.values()))))

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (settings are immutable)."""
        return replace(self, **changes)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def load_settings(home: str | Path | None = None) -> Settings:
    """Settings from the environment; ``home`` overrides ``HUB_HOME``."""
    env = os.environ
    base = Path(home or env.get("HUB_HOME") or Path.cwd()).resolve()
    return Settings(
        database_url=env.get("HUB_DATABASE_URL") or sqlite_url(base / "registry.db"),
        artifacts_dir=env.get("HUB_ARTIFACTS_URL")
        or Path(env.get("HUB_ARTIFACTS_DIR") or base / "artifacts").resolve(),
        max_batch=int(env.get("HUB_MAX_BATCH", 20_000)),
        max_body_bytes=int(env.get("HUB_MAX_BODY_BYTES", 32 * 1024 * 1024)),
        max_input_chars=int(env.get("HUB_MAX_INPUT_CHARS", 20_000)),
        max_upload_bytes=int(env.get("HUB_MAX_UPLOAD_BYTES") or 256 * 1024 * 1024),
        sandbox_timeout_s=float(env.get("HUB_SANDBOX_TIMEOUT_S") or 300.0),
        sandbox_memory_mb=int(env.get("HUB_SANDBOX_MEMORY_MB") or 4096),
        redis_url=env.get("HUB_REDIS_URL") or None,
        redis_prefix=env.get("HUB_REDIS_PREFIX", "hub:"),
        rate_per_minute=int(env.get("HUB_RATE_PER_MINUTE", 1200)),
        items_per_day=int(env.get("HUB_ITEMS_PER_DAY", 10_000_000)),
        anonymous_rate_per_minute=int(env.get("HUB_ANONYMOUS_RATE_PER_MINUTE", 300)),
        anonymous_items_per_day=int(env.get("HUB_ANONYMOUS_ITEMS_PER_DAY", 1_000_000)),
        audit_flush_s=float(env.get("HUB_AUDIT_FLUSH_S", 1.0)),
        deadline_s=parse_per_kind(env.get("HUB_DEADLINE_S"), DEFAULT_DEADLINE_S),
        max_batch_cost=parse_per_kind(env.get("HUB_MAX_BATCH_COST"), DEFAULT_BATCH_COST),
        kind_threads=parse_per_kind(env.get("HUB_KIND_THREADS"), DEFAULT_KIND_THREADS, int),
        kind_processes=parse_per_kind(env.get("HUB_KIND_PROCESSES"), DEFAULT_KIND_PROCESSES, int),
        kind_memory_mb=parse_per_kind(env.get("HUB_KIND_MEMORY_MB"), DEFAULT_KIND_MEMORY_MB, int),
        prediction_cache=env.get("HUB_PREDICTION_CACHE") or "auto",
        cache_entries=int(env.get("HUB_CACHE_ENTRIES") or 50_000),
        cache_ttl_s=float(env.get("HUB_CACHE_TTL_S") or 86_400.0),
        cache_kinds=parse_per_kind(env.get("HUB_CACHE_KINDS"), DEFAULT_CACHE_KINDS, int),
        microbatch_ms=float(env.get("HUB_MICROBATCH_MS") or 1.0),
        microbatch_max=int(env.get("HUB_MICROBATCH_MAX") or 64),
        inline_s=float(env.get("HUB_INLINE_MS") or 5.0) / 1000,
        telemetry=env.get("HUB_TELEMETRY", "0") == "1",
        allowed_hosts=allowed_hosts_from(env),
        public_url=env.get("HUB_PUBLIC_URL") or None,
        dask_scheduler=env.get("HUB_DASK_SCHEDULER") or None,
        dask_workers=int(env.get("HUB_DASK_WORKERS") or 0),
        screen_chunk=int(env.get("HUB_SCREEN_CHUNK") or 5000),
        screen_max_bytes=int(env.get("HUB_SCREEN_MAX_BYTES") or 2 * 1024**3),
        warm=env.get("HUB_WARM", "1") != "0",
        cache_dir=cache_home(env),
    )
