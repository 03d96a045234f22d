"""TensorFlow's log level is set in one place, hub.keras_env, which every Keras user of the
hub and the door (hub.sdk, for a domain's TensorFlow code) imports (issue 14)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# child processes the hub starts get their own environment, set where they are started
CHILD_ENVS = {"hub/engine/cluster.py", "hub/publishing/sandbox.py"}


def test_only_keras_env_sets_the_log_level_in_process() -> None:
    setters = {
        str(path.relative_to(ROOT))
        for folder in ("hub", "domains")
        for path in (ROOT / folder).rglob("*.py")
        if "TF_CPP_MIN_LOG_LEVEL" in path.read_text()
    }
    assert setters == {"hub/keras_env.py"} | CHILD_ENVS


KERAS_USERS = [
    "hub.sdk",
    "hub.runtime.keras_kind",
    "hub.learning.ensemble",
    "hub.publishing.inspect",
]


@pytest.mark.parametrize("module", KERAS_USERS)
def test_importing_a_keras_user_sets_it_without_importing_keras(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = (
        f"import os, sys, {module}; "
        "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'), 'keras' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["2", "False"]


def test_a_value_in_the_environment_wins() -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}
    code = "import os, hub.keras_env; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "0"
