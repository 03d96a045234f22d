"""Domains come in through the ``hub.domains`` entry-point group, as a third party's would."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from hub.plugins import load_plugins

ROOT = Path(__file__).resolve().parents[2]

EXTRA = textwrap.dedent('''
    """A third-party domain: a toy simulator (the energy of an ideal spring chain)."""
    import numpy as np
    from hub.entities import ModelInfo, OutputSpec
    from hub.plugins import Domain, InputType, Recipe, RecipeResult, Simulator

    def parse(raw):
        return np.asarray(raw, dtype=float)

    def build(k=1.0):
        return lambda x: {"energy": 0.5 * k * float(np.sum(np.diff(x) ** 2))}

    def train(ctx):
        return RecipeResult(kind="simulator", spec={"simulator": "toys.spring",
                                                    "params": dict(ctx.params)})

    domain = Domain(
        name="toys", description="toy springs",
        input_types=(InputType("positions_1d", "x positions", parse),),
        simulators=(Simulator("toys.spring", "positions_1d", "harmonic chain", ("energy",),
                              {"energy": "eV"}, build),),
        recipes=(Recipe(ModelInfo(name="toys.spring", domain="toys", task="simulation",
                                  title="Spring chain", description="1D harmonic chain",
                                  input_type="positions_1d",
                                  outputs=(OutputSpec("energy", "eV"),)),
                        train, params={"k": 2.0}),))
''')


def install_fake_distribution(site: Path, *, broken: bool = False) -> None:
    """An installed distribution, as pip leaves one: a module and a .dist-info folder whose
    entry_points.txt names it in the ``hub.domains`` group."""
    (site / "toy_domain.py").write_text(EXTRA)
    info = site / "toy_domain-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-domain\nVersion: 1.0\n")
    target = "toy_domain:does_not_exist" if broken else "toy_domain:domain"
    (info / "entry_points.txt").write_text(f"[hub.domains]\ntoys = {target}\n")


def run_hub(home: Path, site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HUB_HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
    }
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_builtin_domains_are_entry_points() -> None:
    reg = load_plugins()
    assert {"chemistry", "physics"} <= set(reg.domains)
    assert reg.input_type("smiles").name == "smiles"
    assert reg.simulator("physics.emt").implemented_properties == ("energy", "forces", "stress")


def test_extra_plugin_appears_in_catalog(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_fake_distribution(site)
    r = run_hub(tmp_path, site, "build", "toys.spring")
    assert r.returncode == 0, r.stderr + r.stdout
    assert "toys.spring:1" in r.stdout
    r = run_hub(tmp_path, site, "models", "list", "--domain", "toys")
    assert "toys.spring" in r.stdout
    r = run_hub(tmp_path, site, "predict", "toys.spring", "[0, 1, 3]")
    assert r.returncode == 0, r.stderr
    assert '"value": {"energy": 5.0}' in r.stdout and '"unit": {"energy": "eV"}' in r.stdout


def test_broken_plugin_is_skipped_not_fatal(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_fake_distribution(site, broken=True)
    r = run_hub(tmp_path, site, "plugins")
    assert r.returncode == 0, r.stderr
    assert '"status": "error"' in r.stdout and '"chemistry"' in r.stdout


def test_hub_never_imports_domains() -> None:
    for path in (ROOT / "hub").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "domains" or n.startswith("domains.") for n in names), path
