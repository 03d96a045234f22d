"""The catalog in a real headless Chromium against a quick-built hub of every model: the
index, search and filters, a model card, the try-it form with valid and invalid inputs."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait


@pytest.fixture(scope="module")
def api(server_url: str):  # noqa: ANN201
    with httpx.Client(base_url=server_url, timeout=120) as c:
        yield c


def shown(m: dict) -> str:
    """A metric as the pages show it: 4 significant figures, the spread over several splits."""
    spread = f" ± {m['std']:.4g}" if m["std"] is not None and (m["n"] or 2) > 1 else ""
    return f"{m['value']:.4g}{spread}"


def wait(browser, seconds: float = 60) -> WebDriverWait:
    return WebDriverWait(browser, seconds)


def visible_names(browser) -> list[str]:
    return [
        a.text
        for a in browser.find_elements(By.CSS_SELECTOR, "#models tbody tr a.model-link")
        if a.is_displayed()
    ]


def page_problems(browser, origin: str) -> list[str]:
    """Console errors (a CSP violation, a failed load) and anything loaded from elsewhere."""
    logs = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return logs + [u for u in urls if not u.startswith((origin, "blob:", "data:"))]


def test_index_lists_every_public_model(browser, server_url: str, api: httpx.Client) -> None:
    browser.get(server_url + "/")
    models = api.get("/v1/models", params={"limit": 1000}).json()["data"]
    assert visible_names(browser) == [m["name"] for m in models] and len(models) >= 8
    row = browser.find_element(By.XPATH, "//tr[.//a[text()='chemistry.solubility']]")
    card = api.get("/v1/models/chemistry.solubility").json()
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    assert card["title"] in cells[0] and cells[1].startswith("chemistry")
    assert cells[2] == "smiles" and cells[3] == f"v{card['latest_version']}"
    rmse = next(
        m for m in card["versions"][0]["metrics"] if (m["name"], m["split"]) == ("rmse", "random")
    )
    assert cells[4].startswith(f"rmse {shown(rmse)}\nrandom")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", cells[5])
    emt = browser.find_element(By.XPATH, "//tr[.//a[text()='physics.emt']]").text
    assert "cu_fcc_lattice_constant_angstrom 3.59" in emt and "reference" in emt
    assert page_problems(browser, server_url) == []


def test_search_live_and_on_the_server(browser, server_url: str) -> None:
    browser.get(server_url + "/")
    box = browser.find_element(By.ID, "q")
    box.send_keys("yield")  # filters as one types
    assert visible_names(browser) == [
        "chemistry.yield-buchwald-hartwig",
        "chemistry.yield-suzuki-miyaura",
    ]
    assert browser.find_element(By.ID, "shown").text == "2"
    box.send_keys(" suzuki")
    assert visible_names(browser) == ["chemistry.yield-suzuki-miyaura"]
    box.send_keys(" nothing-like-this")
    assert visible_names(browser) == [] and browser.find_element(By.ID, "no-match").is_displayed()
    box.clear()
    box.send_keys("solub", Keys.ENTER)  # the server's search, as without JavaScript
    wait(browser).until(ec.url_contains("q=solub"))
    assert visible_names(browser) == ["chemistry.solubility"]
    assert browser.find_element(By.ID, "q").get_attribute("value") == "solub"


def test_filters_by_domain_task_and_tag(browser, server_url: str, api: httpx.Client) -> None:
    browser.get(server_url + "/")
    Select(browser.find_element(By.ID, "filter-domain")).select_by_visible_text("physics")
    browser.find_element(By.CSS_SELECTOR, "#search button[type=submit]").click()
    wait(browser).until(ec.url_contains("domain=physics"))
    physics = [m["name"] for m in api.get("/v1/models?domain=physics").json()["data"]]
    assert visible_names(browser) == physics and "physics.emt" in physics
    browser.get(server_url + "/?tag=emt")
    tagged = [m["name"] for m in api.get("/v1/models?tag=emt").json()["data"]]
    assert visible_names(browser) == tagged and "physics.emt" in tagged
    assert "chemistry.solubility" not in tagged
    tasks = Select(browser.find_element(By.ID, "filter-task")).options
    task = next(o.get_attribute("value") for o in tasks if o.get_attribute("value"))
    browser.get(f"{server_url}/?task={task}")
    expected = [m["name"] for m in api.get(f"/v1/models?task={task}").json()["data"]]
    assert visible_names(browser) == expected and expected


def test_model_card(browser, server_url: str, api: httpx.Client) -> None:
    browser.get(server_url + "/")
    browser.find_element(By.LINK_TEXT, "chemistry.solubility").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "model-name")))
    card = api.get("/v1/models/chemistry.solubility").json()
    v = card["versions"][0]
    text = browser.find_element(By.TAG_NAME, "main").text
    assert browser.find_element(By.ID, "model-title").text == card["title"]
    assert browser.find_element(By.ID, "description").text == card["description"]
    for expected in (
        "log10(mol/L)",  # unit
        v["dataset"]["name"],
        f"{v['dataset']['size']} records",
        v["dataset"]["sha256"],
        v["dataset"]["citation"].split("\n")[0][:40],
        f"rdkit\n{v['software']['rdkit']}".replace("\n", " "),
        "Held-out metrics",
        "Uncertainty calibration",
        "Applicability domain",
        "latest",
        "chemistry.solubility@latest",
    ):
        assert expected in text.replace("\n", " ") or expected in text, expected
    perf = browser.find_element(By.CSS_SELECTOR, f"#v{v['version']} table.metrics-performance")
    rmse = next(m for m in v["metrics"] if (m["name"], m["split"]) == ("rmse", "random"))
    header = [th.text for th in perf.find_elements(By.TAG_NAME, "th")]
    row = perf.find_element(By.XPATH, ".//tr[td[1][starts-with(normalize-space(.), 'random')]]")
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    assert cells[header.index("rmse")] == shown(rmse) and cells[1] == str(rmse["n"])
    calibration = browser.find_element(By.CSS_SELECTOR, "table.metrics-calibration").text
    domain = browser.find_element(By.CSS_SELECTOR, "table.metrics-applicability").text
    assert "within_1sigma" in calibration and "sigma_scale" in calibration
    assert "ad_threshold" in domain and "fraction_in_domain" in domain
    curl = browser.find_element(By.ID, "usage-curl").text
    python = browser.find_element(By.ID, "usage-python").text
    assert f"{server_url}/v1/models/chemistry.solubility/predict" in curl
    assert '{"inputs": ["c1ccccc1O"]}' in curl
    assert "HubClient('" + server_url in python and "['c1ccccc1O']" in python
    assert "epochs" in browser.find_element(By.CSS_SELECTOR, f"#v{v['version']}").get_attribute(
        "innerHTML"
    )
    check_plots(browser, v)
    assert page_problems(browser, server_url) == []


def check_plots(browser, version: dict) -> None:
    """Every plot of the version is on the page, loaded, with its caption."""
    figures = browser.find_elements(By.CSS_SELECTOR, f"#v{version['version']} figure.plot")
    assert len(figures) == len(version["plots"])
    for fig, plot in zip(figures, version["plots"], strict=True):
        img = fig.find_element(By.TAG_NAME, "img")
        wait(browser, 30).until(lambda _, img=img: browser.execute_script(
            "return arguments[0].complete && arguments[0].naturalWidth > 0", img
        ))  # fmt: skip
        assert img.get_attribute("src").endswith(plot["url"])
        assert fig.find_element(By.TAG_NAME, "figcaption").text == plot["caption"]


def test_simulator_card_shows_its_eos_plot(browser, server_url: str, api: httpx.Client) -> None:
    card = api.get("/v1/models/physics.emt").json()
    v = card["versions"][0]
    assert [p["role"] for p in v["plots"]] == ["plot_eos"]
    browser.get(server_url + "/models/physics.emt")
    check_plots(browser, v)
    assert "engine parameters" in browser.find_element(By.ID, f"v{v['version']}").text


def try_it(browser, text: str) -> list:
    area = browser.find_element(By.ID, "try-input")
    browser.execute_script("arguments[0].value = arguments[1]", area, text)
    browser.execute_script("document.getElementById('try-result').replaceChildren()")
    browser.find_element(By.ID, "try-submit").click()
    wait(browser, 120).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#try-result .try-item, #try-result > .error")
    )
    return browser.find_elements(By.CSS_SELECTOR, "#try-result .try-item")


def test_try_it_with_valid_and_invalid_smiles(browser, server_url: str, api: httpx.Client) -> None:
    browser.get(server_url + "/models/chemistry.solubility")
    items = try_it(browser, "CCO\nC1CC")
    assert len(items) == 2
    good, bad = items
    expected = api.post(
        "/v1/models/chemistry.solubility/predict", json={"inputs": ["CCO", "C1CC"]}
    ).json()["outputs"]
    shown = good.find_element(By.CSS_SELECTOR, ".value").text
    number, _, rest = shown.partition(" ± ")
    assert float(number) == pytest.approx(expected[0]["value"], abs=1e-3)
    assert rest.endswith("log10(mol/L)")
    assert "applicability domain" in good.text and "smiles: CCO" in good.text
    drawing = wait(browser).until(lambda _: good.find_elements(By.CSS_SELECTOR, "img.depiction"))
    wait(browser).until(lambda b: b.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", drawing[0]
    ))  # fmt: skip
    assert drawing[0].get_attribute("src").startswith("blob:")
    assert bad.find_element(By.CSS_SELECTOR, ".error .code").text == "invalid_smiles"
    message = bad.find_element(By.CSS_SELECTOR, ".error .message").text
    assert message == expected[1]["error"]["message"] and "unclosed ring" in message
    assert not bad.find_elements(By.CSS_SELECTOR, "img.depiction")
    assert page_problems(browser, server_url) == []


def test_try_it_shows_request_errors_as_the_api_gives_them(browser, server_url: str) -> None:
    browser.get(server_url + "/models/chemistry.solubility")
    try_it(browser, "C\n" * 20_001)  # over the batch limit of the test hub (20,000)
    error = browser.find_element(By.CSS_SELECTOR, "#try-result > .error")
    assert error.find_element(By.CSS_SELECTOR, ".code").text == "payload_too_large"
    assert "(HTTP 413)" in error.text and "over the limit of 20000" in error.text


def test_try_it_on_a_simulator_and_a_reaction(browser, server_url: str) -> None:
    browser.get(server_url + "/models/physics.emt")
    (item,) = try_it(browser, browser.find_element(By.ID, "try-input").get_attribute("value"))
    assert re.search(r"energy\s+-?[\d.e+-]+ eV", item.text) and "forces" in item.text
    assert "engine:" in item.text
    (item,) = try_it(browser, '{"symbols": ["Cu", "Cu"], "positions": [[0,0,0],[0,0,0.1]]}')
    assert item.find_element(By.CSS_SELECTOR, ".error .code").text == "overlapping_atoms"
    browser.get(server_url + "/models/chemistry.yield-buchwald-hartwig")
    (item,) = try_it(browser, browser.find_element(By.ID, "try-input").get_attribute("value"))
    assert item.find_element(By.CSS_SELECTOR, ".value").text.endswith("%")
    wait(browser).until(lambda _: item.find_elements(By.CSS_SELECTOR, "img.depiction"))
    # a reaction's drawing is wide: it takes the item's width, above the answer
    wait(browser).until(lambda _: "wide" in item.get_attribute("class"))


def test_screenshots(browser, server_url: str, tmp_path: Path) -> None:
    """Screenshots of the index and of a card; copied to $HUB_SCREENSHOTS_DIR when set (that
    is how docs/ gets them)."""
    shots = {}
    browser.set_window_size(1280, 900)
    browser.get(server_url + "/")
    shots["catalog-index.png"] = browser.get_screenshot_as_png()
    browser.get(server_url + "/models/chemistry.solubility")
    try_it(browser, "CC(=O)Oc1ccccc1C(=O)O\nC1CC")
    wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, "img.depiction"))
    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1280, min(int(height) + 100, 6000))
    shots["catalog-card.png"] = browser.get_screenshot_as_png()
    browser.set_window_size(1280, 1000)
    target = os.environ.get("HUB_SCREENSHOTS_DIR")
    for name, png in shots.items():
        assert png.startswith(b"\x89PNG") and len(png) > 20_000
        (tmp_path / name).write_bytes(png)
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copy(tmp_path / name, Path(target) / name)
