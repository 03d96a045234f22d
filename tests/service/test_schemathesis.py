"""Schemathesis over the whole OpenAPI with every check (as ``--checks all``), against a
quick-built hub served by uvicorn with an admin key: no server error, no response outside the
schema. Bounded: a few examples per operation, two workers, about a minute on two cores.

The same run by hand against a served hub (``tests/service/schemathesis.toml`` lists the few
documented exceptions)::

    schemathesis --config-file tests/service/schemathesis.toml run \\
        http://127.0.0.1:8000/openapi.json --max-examples 12 --seed 1 \\
        -H "Authorization: Bearer $HUB_ADMIN_KEY"

Every check is on by default in Schemathesis 4 (what ``--checks all`` asks for); the option is
left out because, given on the command line, it overrides the exceptions of the config file.

``HUB_TEST_BUILT_HOME`` may name an already quick-built hub home to copy instead of building
one (the session's ``built_home``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import serve, settings_for

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 12
TIMEOUT_S = 240


@pytest.fixture(scope="module")
def hub_copy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of a quick-built home (the run moves aliases and queues jobs): the catalog
    copied, the artifacts hard-linked."""
    given = os.environ.get("HUB_TEST_BUILT_HOME")
    source = Path(given) if given else request.getfixturevalue("built_home")
    home = tmp_path_factory.mktemp("st-home")
    shutil.copy2(source / "registry.db", home / "registry.db")
    shutil.copytree(source / "artifacts", home / "artifacts", copy_function=os.link)
    return home


def test_schemathesis_all_checks(hub_copy: Path, tmp_path: Path) -> None:
    from hub.auth import keys, users
    from hub.catalog import CatalogStore
    from hub.runtime import Runtime
    from hub.service.app import create_app

    settings = settings_for(hub_copy)
    store = CatalogStore(settings.database_url)
    users.create_user(store, "fuzzer")
    _, token = keys.create_key(store, "fuzzer", "admin")
    runtime = Runtime(settings, store=store)
    schemathesis = Path(sys.executable).with_name("schemathesis")
    runtime.warm()  # every model loaded before serving (the server must start in 60 s)
    with serve(create_app(runtime, warm=False)) as url:
        run = subprocess.run(
            [
                str(schemathesis),
                "--config-file",
                str(CONFIG),
                "--no-color",
                "run",
                f"{url}/openapi.json",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                "1",
                # one worker: hypothesis parses lambdas with ast in each worker thread, and
                # CPython 3.11.7's ast is not thread-safe ("AST constructor recursion depth
                # mismatch", seen once in a full run with two)
                "--workers",
                "1",
                "--request-timeout",
                "60",
                "-H",
                f"Authorization: Bearer {token}",
                "--report",
                "junit",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            cwd=tmp_path,
        )
    store.close()
    summary = run.stdout[run.stdout.find("SUMMARY") - 40 :] if "SUMMARY" in run.stdout else ""
    print(summary)
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-3000:]
    assert "Server error" not in run.stdout
