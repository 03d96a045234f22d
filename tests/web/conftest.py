"""Fixtures of the web catalog tests: a headless Chromium driven by Selenium, and a small hub
of hand-registered models (one with markup in its text) served on its own port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config import Settings, sqlite_url
from tests.conftest import serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
XSS_DESCRIPTION = "Markup is text here: <script>window.__xss = 1</script> & <b>bold</b>"
XSS_TITLE = '<img src=x onerror="window.__xss = 2">Escaping check'
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="120" '
    b'height="80"><rect width="120" height="80" fill="#ccd"/></svg>'
)


def settings_for(home: Path) -> Settings:
    return Settings(database_url=sqlite_url(home / "registry.db"), artifacts_dir=home / "artifacts")


@pytest.fixture(scope="session")
def markup() -> dict[str, str]:
    """The title and description of ``web.escaping``, full of markup."""
    return {"title": XSS_TITLE, "description": XSS_DESCRIPTION}


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """Debian's chromium through its chromedriver (``make browser`` installs both)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        reason = f"{CHROMIUM} and {CHROMEDRIVER} are needed: run `make browser`"
        if os.environ.get("HUB_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def register_small_catalog(home: Path) -> None:
    """Two hand-made models: ``web.escaping`` (markup in title, description, tags, captions;
    a plot) and ``web.private`` (not public). Both are EMT simulators, so they can predict."""
    from hub.artifacts import ArtifactStore
    from hub.catalog import CatalogStore
    from hub.entities import DatasetInfo, Metric, ModelInfo, OutputSpec, VersionCreate

    settings = settings_for(home)
    store = CatalogStore(settings.database_url)
    sha = ArtifactStore(settings.artifacts_dir).put_bytes(SVG)
    for name, visibility in (("web.escaping", "public"), ("web.private", "private")):
        store.upsert_model(
            ModelInfo(
                name=name,
                domain="web",
                task="simulation",
                title=XSS_TITLE,
                description=XSS_DESCRIPTION,
                input_type="atoms",
                outputs=(OutputSpec("energy", "eV<sup>", "energy <em>here</em>"),),
                tags=("<i>tag</i>", "escaping"),
                visibility=visibility,
            )
        )
    for _ in range(2):
        store.register_version(
            "web.escaping",
            VersionCreate(
                kind="simulator",
                spec={
                    "simulator": "physics.emt",
                    "params": {"engine": "ase"},
                    "plots": {"plot_check": "caption <script>window.__xss = 3</script>"},
                    "evaluation": {"random": "3 splits <u>underlined</u>"},
                },
                artifacts={"plot_check": sha},
                recipe="web.hand-made",
                recipe_params={"note": "<script>window.__xss = 4</script>"},
                dataset=DatasetInfo("<b>data</b>", "0" * 64, 10, "cite <i>me</i>", "CC0"),
                software={"ase": "<script>x</script>"},
                metrics=(
                    Metric("rmse", 0.5, "random", 0.05, 3),
                    Metric("within_1sigma", 0.7, "random"),
                    Metric("ad_threshold", 0.3, "random"),
                ),
            ),
        )
    store.set_alias("web.escaping", "production", 1)
    store.close()


@pytest.fixture(scope="session")
def small_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("web-home")
    register_small_catalog(home)
    return home


@pytest.fixture(scope="session")
def small_url(small_home: Path) -> Iterator[str]:
    """The small catalog served by uvicorn on a free port, in a thread."""
    from hub.runtime import Runtime
    from hub.service.app import create_app

    with serve(create_app(Runtime(settings_for(small_home)), warm=False)) as url:
        yield url
