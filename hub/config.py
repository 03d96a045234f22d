"""Settings read from the environment, once, into a frozen dataclass.

- ``HUB_HOME`` (current directory): where ``registry.db`` and ``artifacts/`` live
- ``HUB_DATABASE_URL`` (``sqlite:///$HUB_HOME/registry.db``): SQLAlchemy URL of the catalog
- ``HUB_ARTIFACTS_DIR`` (``$HUB_HOME/artifacts``): the content-addressed artifact folder
- ``HUB_MAX_BATCH`` (20000): most inputs in one predict request
- ``HUB_MAX_BODY_BYTES`` (32 MiB): largest request body
- ``HUB_MAX_INPUT_CHARS`` (20000): longest single string input
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
    )
