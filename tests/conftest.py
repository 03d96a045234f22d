"""Shared fixtures: catalogs on SQLite and PostgreSQL, a quick-built hub home, a live server."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from hub.artifacts import ArtifactStore  # noqa: E402
from hub.build import build_all  # noqa: E402
from hub.catalog import CatalogStore  # noqa: E402
from hub.config import Settings, sqlite_url  # noqa: E402
from hub.plugins import load_plugins  # noqa: E402

PG_URL = os.environ.get("HUB_TEST_POSTGRES_URL")


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # CI sets the URL: failing to connect must fail, not skip
        pytest.fail(f"HUB_TEST_POSTGRES_URL is set but PostgreSQL is not usable: {exc}")
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty catalog database URL: SQLite always, PostgreSQL when configured."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "registry.db")
    if not PG_URL:
        pytest.skip("HUB_TEST_POSTGRES_URL not set")
    _reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture
def store(db_url: str) -> Iterator[CatalogStore]:
    s = CatalogStore(db_url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hub home with every built-in model built at quick size (shared by the session)."""
    home = tmp_path_factory.mktemp("hub-home")
    ready = os.environ.get("HUB_TEST_BUILT_HOME")
    if ready:  # a quick-built home made earlier (by this fixture): copied, so tests may write
        import shutil

        shutil.copytree(ready, home, dirs_exist_ok=True)
        return home
    settings = settings_for(home)
    store = CatalogStore(settings.database_url)
    build_all(load_plugins().recipes(), store, ArtifactStore(settings.artifacts_dir), quick=True)
    store.close()
    return home


def settings_for(home: Path, **changes: object) -> Settings:
    s = Settings(database_url=sqlite_url(home / "registry.db"), artifacts_dir=home / "artifacts")
    return s.with_(**changes) if changes else s


@pytest.fixture(scope="session")
def runtime(built_home: Path):  # noqa: ANN201
    from hub.runtime import Runtime

    return Runtime(settings_for(built_home, max_batch=20_000, max_body_bytes=8 * 1024 * 1024))


@pytest.fixture(scope="session")
def app(runtime):  # noqa: ANN001, ANN201
    from hub.service.app import create_app

    return create_app(runtime, warm=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app) -> Iterator[str]:  # noqa: ANN001 - an ASGI app
    """``app`` served by uvicorn on a free local port, in a thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def server_url(app) -> Iterator[str]:  # noqa: ANN001
    """The app served by uvicorn on a free local port, in a thread."""
    with serve(app) as url:
        yield url


@pytest.fixture(scope="session")
def dask_engine() -> Iterator[None]:
    """The embedded Dask cluster of this test process (started by the first job or screen
    that needs it), shared by the whole session and closed at its end."""
    yield
    from hub import engine
    from hub.screening.driver import stop_supervisors

    stop_supervisors()
    engine.shutdown()


@pytest.fixture(scope="session")
def job_workers(built_home: Path, dask_engine: None):  # noqa: ANN201
    """The job dispatcher of the quick-built home, as `hub serve` runs it: jobs run on the
    session's embedded Dask cluster (leases of 5 s, so a lost worker shows soon)."""
    from hub.jobs import JobDispatcher, JobLimits

    limits = JobLimits(lease_s=5.0, grace_s=2.0)
    dispatcher = JobDispatcher(settings_for(built_home), limits=limits, check_s=0.2).start()
    yield dispatcher
    dispatcher.stop()


@pytest.fixture(scope="session")
def api_key(runtime) -> str:  # noqa: ANN001
    """A key of user ``tester`` with every scope but admin (jobs and aliases need a key), and
    no quota (the tests' long MD jobs count more atom-steps than a day's default)."""
    from hub.auth import keys, users
    from hub.auth.quotas import set_user_quota

    users.ensure_user(runtime.store, "tester")
    set_user_quota(runtime.store, "tester", requests_per_minute=0, items_per_day=0)
    return keys.create_key(runtime.store, "tester", "read,predict,jobs,publish")[1]


@pytest.fixture(scope="session")
def client(server_url: str, job_workers, api_key: str):  # noqa: ANN001, ANN201
    from hub.client import HubClient

    with HubClient(server_url, api_key=api_key) as c:
        yield c
