"""The README's examples run as written, against a live server (its URL substituted)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"<!-- readme-test: ([\w-]+) -->\n```\w+\n(.*?)```", re.S)


def blocks(kind: str) -> list[str]:
    return [code for k, code in BLOCK.findall(README.read_text()) if k == kind]


def test_readme_opens_with_the_two_commands() -> None:
    first = README.read_text().split("```")[1]
    assert "make serve" in first and "make test" in first


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_example(server_url: str) -> None:
    (code,) = blocks("curl")
    cmd = code.replace("http://127.0.0.1:8000", server_url).replace("\\\n", " ")
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=60)
    body = json.loads(out.stdout)
    values = [o for o in body["outputs"] if "value" in o]
    errors = [o["error"]["code"] for o in body["outputs"] if "error" in o]
    assert len(values) == 2 and errors == ["invalid_smiles"]


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_examples(
    server_url: str,
    job_workers,  # noqa: ANN001
    api_key: str,
    index: int,
    tmp_path: Path,
) -> None:
    """Each example runs as a user runs it: ``HUB_API_KEY`` exported (jobs need a key; the
    examples that only read and predict run the same without one, as the curl test shows)."""
    script = tmp_path / "example.py"
    script.write_text(blocks("python")[index].replace("http://127.0.0.1:8000", server_url))
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "HUB_API_KEY": api_key},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()


@pytest.mark.parametrize("index", range(len(blocks("python-full"))))
def test_full_build_examples_compile_and_name_served_models(server_url: str, index: int) -> None:
    """Examples marked ``python-full`` need full-size models (an MD run is only stable on a
    well-trained potential, not on the suite's quick-built one): they must compile and name
    models the hub serves; run them against a ``make build`` hub by hand."""
    import httpx

    code = blocks("python-full")[index]
    compile(code, f"README python-full example {index}", "exec")
    served = {m["name"] for m in httpx.get(f"{server_url}/v1/models?limit=1000").json()["data"]}
    named = set(re.findall(r"[\"'](\w+\.[\w-]+)[\"']", code)) & {n for n in served}
    assert named, "the example names no served model"
