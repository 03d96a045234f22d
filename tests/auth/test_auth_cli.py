"""``hub keys``, ``hub users``, ``hub groups``, ``hub models visibility`` and ``hub --api-key``
on a local catalog."""

from __future__ import annotations

import json
import os

from typer.testing import CliRunner

from hub.auth import keys
from hub.catalog import CatalogStore
from hub.cli import app
from hub.config import sqlite_url
from tests.auth.support import CREATED_KEYS, register_models


def test_admin_commands(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("HUB_HOME", str(tmp_path))
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    runner = CliRunner()

    def hub(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    out = hub("keys", "create", "--user", "root", "--admin")
    token = out.strip().splitlines()[-1]
    CREATED_KEYS.append(token)
    store = CatalogStore(sqlite_url(tmp_path / "registry.db"))
    try:
        assert keys.verify_token(store, token).is_admin
        hub("users", "create", "alice")
        hub("groups", "create", "chem-team")
        assert "alice" in hub("groups", "add", "chem-team", "alice")
        listed = json.loads(hub("keys", "list", "--json"))
        assert [k["user"] for k in listed] == ["root"] and token not in json.dumps(listed)
        assert "chem-team" in hub("users", "list")
        register_models(store, tmp_path)
        assert "group:chem-team" in hub("models", "visibility", "auth.public", "group:chem-team")
        assert store.get_model("auth.public").visibility == "group:chem-team"
        hub("models", "visibility", "auth.public", "--owner", "alice")
        assert store.get_model("auth.public").owner == "alice"
        bad = runner.invoke(app, ["models", "visibility", "auth.public", "group:nobody"])
        assert bad.exit_code == 1 and "group_not_found" in bad.output
        hub("keys", "revoke", listed[0]["id"])
        assert json.loads(hub("keys", "list", "--json"))[0]["active"] is False
        assert "disabled" in hub("users", "disable", "alice")
        monkeypatch.delenv("HUB_API_KEY", raising=False)
        hub("--api-key", "hub_0123456789ab_test", "plugins")
        assert os.environ.pop("HUB_API_KEY") == "hub_0123456789ab_test"
    finally:
        store.close()
