"""Every string from the catalog is escaped in the pages: markup in a model's title,
description, tags, units, captions, data set and parameters shows as text and runs nothing."""

from __future__ import annotations

import re

import httpx
from selenium.webdriver.common.by import By


def test_html_is_escaped(small_url: str) -> None:
    for path in ("/", "/models/web.escaping"):
        html = httpx.get(small_url + path).text
        assert "<script>window" not in html and "<img src=x" not in html
        assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=" in html
        assert html.count("<script") == 1  # only /static/catalog.js
    card = httpx.get(small_url + "/models/web.escaping").text
    for raw in ("<b>data</b>", "<sup>", "<em>", "<u>", "__xss = 3</script>", "__xss = 4</script>"):
        assert raw not in card


def test_markup_renders_as_text_in_a_browser(browser, small_url: str, markup) -> None:
    browser.get(small_url + "/models/web.escaping")
    assert browser.find_element(By.ID, "description").text == markup["description"]
    assert browser.find_element(By.ID, "model-title").text == markup["title"]
    assert browser.execute_script("return window.__xss === undefined")
    assert len(browser.find_elements(By.TAG_NAME, "script")) == 1
    assert not browser.find_elements(By.CSS_SELECTOR, "main img[src='x']")
    browser.get(small_url + "/")
    assert markup["title"] in browser.find_element(By.ID, "models").text
    assert browser.execute_script("return window.__xss === undefined")


def test_markdown_card_escapes_markup(small_url: str) -> None:
    """Outside code blocks (where Markdown shows text as it is) markup becomes entities."""
    md = httpx.get(small_url + "/v1/models/web.escaping/card.md")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert '"note": "<script>window.__xss = 4</script>"' in md.text  # inside a JSON block
    prose = re.sub(r"(?ms)^```[a-z]*\n.*?^```$", "", md.text)
    assert "<script>" not in prose and "<b>" not in prose and "<img" not in prose
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in prose
    assert "| random | 3 | 0.5 ± 0.05 |" in prose


def test_private_models_stay_off_the_index(small_url: str) -> None:
    html = httpx.get(small_url + "/").text
    assert "/models/web.escaping" in html and "web.private" not in html


def test_unknown_model_page_is_a_404_page(small_url: str) -> None:
    r = httpx.get(small_url + "/models/web.<b>nothing")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "<b>nothing" not in r.text and "no model named &#39;web.&lt;b&gt;nothing&#39;" in r.text
