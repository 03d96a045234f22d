"""``hub serve --build``: the hub serves at once and each model as soon as its build registers
it; stopping the server stops the build cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from ase.build import bulk

from hub.client.calculator import encode_atoms
from tests.conftest import _free_port


def _wait_for(url: str, body: dict, deadline: float) -> httpx.Response:
    while True:
        try:
            r = httpx.post(url, json=body, timeout=30)
            if r.status_code == 200 or time.time() > deadline:
                return r
        except httpx.TransportError:
            if time.time() > deadline:
                raise
        time.sleep(0.5)


def test_serve_while_building(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "HUB_HOME": str(tmp_path), "HUB_WARM": "0"}
    log = (tmp_path / "serve.log").open("w+")
    cmd = [sys.executable, "-m", "hub", "serve", "--port", str(port), "--job-workers", "0"]
    cmd += ["--build-only", "chemistry.hydration-free-energy"]  # implies --build
    cmd += ["--build-only", "physics.emt"]  # the quicker, built first
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1/models"
    try:
        cu = encode_atoms(bulk("Cu", "fcc", a=3.6))
        r = _wait_for(f"{base}/physics.emt/predict", {"inputs": [cu]}, time.time() + 180)
        assert r.status_code == 200, r.text
        assert r.json()["outputs"][0]["value"]["energy"] < 1.0
        # still training: in the catalog, not yet servable, and the error says why
        r = httpx.post(f"{base}/chemistry.hydration-free-energy/predict", json={"inputs": ["CCO"]})
        assert r.status_code == 404 and r.json()["error"]["code"] == "version_not_found"
        assert "being built" in r.json()["error"]["message"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    deadline = time.time() + 60  # the orphaned build notices and stops within seconds
    while "build interrupted" not in (text := (tmp_path / "serve.log").read_text()):
        assert time.time() < deadline, text[-3000:]
        time.sleep(0.5)
    assert "registered physics.emt:1" in text
    assert "registered chemistry.hydration-free-energy" not in text
