"""Settings read from the environment, once, into a frozen dataclass.

- ``HUB_HOME`` (current directory): where ``registry.db`` and ``artifacts/`` live
- ``HUB_DATABASE_URL`` (``sqlite:///$HUB_HOME/registry.db``): SQLAlchemy URL of the catalog
- ``HUB_ARTIFACTS_DIR`` (``$HUB_HOME/artifacts``): the content-addressed artifact folder
- ``HUB_MAX_BATCH`` (20000): most inputs in one predict request
- ``HUB_MAX_BODY_BYTES`` (32 MiB): largest request body
- ``HUB_MAX_INPUT_CHARS`` (20000): longest single string input
- ``HUB_REDIS_URL`` (unset): Redis for the quota counters (in process when unset);
  ``HUB_REDIS_PREFIX`` (``hub:``) prefixes its keys
- ``HUB_RATE_PER_MINUTE`` (1200) and ``HUB_ITEMS_PER_DAY`` (10000000): limits per API key;
  ``HUB_ANONYMOUS_RATE_PER_MINUTE`` (300) and ``HUB_ANONYMOUS_ITEMS_PER_DAY`` (1000000) per
  client address without a key; 0 means no limit (items are cost units: hub.auth.quotas)
- ``HUB_AUDIT_FLUSH_S`` (1.0): most seconds an audit row waits in memory before its write
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str
    artifacts_dir: Path
    max_batch: int = 20_000
    max_body_bytes: int = 32 * 1024 * 1024
    max_input_chars: int = 20_000
    # quotas and rate limits (hub.auth.quotas); 0 means no limit
    redis_url: str | None = None
    redis_prefix: str = "hub:"
    rate_per_minute: int = 1200
    items_per_day: int = 10_000_000
    anonymous_rate_per_minute: int = 300
    anonymous_items_per_day: int = 1_000_000
    # audit trail (hub.auth.audit): seconds between batched writes
    audit_flush_s: float = 1.0

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
        artifacts_dir=Path(env.get("HUB_ARTIFACTS_DIR") or base / "artifacts").resolve(),
        max_batch=int(env.get("HUB_MAX_BATCH", 20_000)),
        max_body_bytes=int(env.get("HUB_MAX_BODY_BYTES", 32 * 1024 * 1024)),
        max_input_chars=int(env.get("HUB_MAX_INPUT_CHARS", 20_000)),
        redis_url=env.get("HUB_REDIS_URL") or None,
        redis_prefix=env.get("HUB_REDIS_PREFIX", "hub:"),
        rate_per_minute=int(env.get("HUB_RATE_PER_MINUTE", 1200)),
        items_per_day=int(env.get("HUB_ITEMS_PER_DAY", 10_000_000)),
        anonymous_rate_per_minute=int(env.get("HUB_ANONYMOUS_RATE_PER_MINUTE", 300)),
        anonymous_items_per_day=int(env.get("HUB_ANONYMOUS_ITEMS_PER_DAY", 1_000_000)),
        audit_flush_s=float(env.get("HUB_AUDIT_FLUSH_S", 1.0)),
    )
