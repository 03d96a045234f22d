"""Web sign-in by pasting a key: an HttpOnly, SameSite=Strict session cookie; forms that change
something carry a CSRF token; a cookie alone does not authorize a write from another page."""

from __future__ import annotations

import re

from tests.auth.support import CU2, Hub


def _sign_in(hub: Hub, who: str) -> str:
    """Sign in as ``who`` on a fresh cookie jar; returns the page's CSRF token."""
    hub.client.cookies.clear()
    form = hub.client.get("/signin")
    assert form.status_code == 200 and 'type="password"' in form.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    r = hub.client.post(
        "/signin",
        content=f"csrf={csrf}&key={hub.keys[who]}",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    cookie = r.headers["set-cookie"]
    assert "hub_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = hub.client.get("/")
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def test_sign_in_shows_what_the_key_may_see(hub: Hub) -> None:
    try:
        assert "auth.private" not in hub.client.get("/").text
        csrf = _sign_in(hub, "user")
        page = hub.client.get("/").text
        assert "signed in as alice" in page and "auth.private" in page
        assert hub.keys["user"] not in page  # the key is never in a page
        assert f'<meta name="csrf-token" content="{csrf}">' in page  # for the try-it form
        assert hub.client.get("/models/auth.private").status_code == 200
        # a write with the cookie alone counts as anonymous: another site cannot forge it
        body = {"inputs": [CU2]}
        assert hub.client.post("/v1/models/auth.private/predict", json=body).status_code == 404
        r = hub.client.post(
            "/v1/models/auth.private/predict", json=body, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 200
        # signing out needs the form's token
        form = {"content-type": "application/x-www-form-urlencoded"}
        assert hub.client.post("/signout", content="csrf=wrong", headers=form).status_code == 403
        r = hub.client.post(
            "/signout", content=f"csrf={csrf}", headers=form, follow_redirects=False
        )
        assert r.status_code == 303 and 'hub_session=""' in r.headers["set-cookie"]
    finally:
        hub.client.cookies.clear()
    assert "auth.private" not in hub.client.get("/").text


def test_sign_in_refuses_bad_keys_and_forms_without_a_token(hub: Hub) -> None:
    hub.client.cookies.clear()
    form = {"content-type": "application/x-www-form-urlencoded"}
    r = hub.client.post("/signin", content=f"key={hub.keys['user']}", headers=form)
    assert r.status_code == 403 and "hub_session" not in r.headers.get("set-cookie", "")
    page = hub.client.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    bad = "hub_0123456789ab_<script>x</script>"
    r = hub.client.post("/signin", content=f"csrf={csrf}&key={bad}", headers=form)
    assert r.status_code == 401 and "not valid" in r.text and "<script>x" not in r.text
    hub.client.cookies.clear()


def test_group_page_for_member_and_not_found_page_for_others(hub: Hub) -> None:
    try:
        _sign_in(hub, "member")
        assert hub.client.get("/models/auth.group").status_code == 200
        r = hub.client.get("/models/auth.private")
        assert r.status_code == 404 and "secret description" not in r.text
        assert r.headers["content-type"].startswith("text/html")
    finally:
        hub.client.cookies.clear()


def test_a_name_no_reference_can_parse_is_a_404_page(hub: Hub) -> None:
    r = hub.client.get("/models/auth.<b>nothing")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "<b>nothing" not in r.text and "no model named" in r.text
    assert hub.client.get("/v1/models/Not%20A%20Name").status_code == 404
