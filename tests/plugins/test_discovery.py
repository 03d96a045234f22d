"""Domains come in through the ``hub.domains`` entry-point group, as a third party's would."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from hub.plugins import load_plugins

ROOT = Path(__file__).resolve().parents[2]

EXTRA = textwrap.dedent('''
    """A third-party domain written against hub.sdk alone: its own input type, featurizer,
    simulator, model kind and two recipes (a simulator, and a model fitted to it)."""
    import json
    from typing import Any

    import numpy as np

    from hub.sdk import (
        DatasetInfo, Domain, Featurizer, InputType, ItemError, LoadContext, Metric, ModelInfo,
        ModelKind, OutputSpec, Recipe, RecipeContext, RecipeResult, Simulator, Version,
        sha256_bytes, to_json_number,
    )
    from hub.sdk.predictors import FeaturizedPredictor

    def parse(raw):
        try:
            x = np.asarray(raw, dtype=float)
        except (TypeError, ValueError) as exc:
            msg = "positions must be a list of numbers"
            raise ItemError(msg, code="invalid_positions") from exc
        if x.ndim != 1 or x.size < 2:
            raise ItemError("positions must be a flat list of 2 or more numbers",
                            code="invalid_positions")
        return x

    def build(k=1.0):
        return lambda x: {"energy": 0.5 * k * float(np.sum(np.diff(x) ** 2))}

    def gap_squares():
        """One feature: the sum of the squared gaps between neighbours (Å^2)."""
        return lambda x: np.array([np.sum(np.diff(x) ** 2)], dtype=np.float32)

    def train(ctx):
        return RecipeResult(kind="simulator", spec={"simulator": "toys.spring",
                                                    "params": dict(ctx.params)})

    class LinearPredictor(FeaturizedPredictor):
        """The toys.linear kind: energy (eV) = weights . features. The base owns the batch
        loop (parse, featurize, typed per-item errors, the deadline); this is the model."""

        def __init__(self, version: Version, ctx: LoadContext) -> None:
            super().__init__(version, ctx)
            self.weights = np.asarray(json.loads(ctx.read_artifact(version.artifacts["model"])))

        def outputs_of(self, x: np.ndarray) -> list[dict[str, Any]]:
            return [{"value": to_json_number(e), "unit": "eV"} for e in x @ self.weights]

        def first_output(self, x: np.ndarray) -> np.ndarray:
            return x @ self.weights

    def fit(ctx: RecipeContext) -> RecipeResult:
        """Fit the spring constant to energies of random chains from toys.spring (tiny)."""
        rng = np.random.default_rng(ctx.params["seed"])
        chains = rng.normal(size=(ctx.params["n"], 5)).cumsum(axis=1)
        energy = build(k=2.0)
        features = np.stack([gap_squares()(x) for x in chains]).astype(float)
        y = np.array([energy(x)["energy"] for x in chains])
        train_idx, test_idx = np.arange(0, len(y) // 2), np.arange(len(y) // 2, len(y))
        w, *_ = np.linalg.lstsq(features[train_idx], y[train_idx], rcond=None)
        mae = float(np.mean(np.abs(features[test_idx] @ w - y[test_idx])))
        data = json.dumps(w.tolist()).encode()
        ctx.progress(1.0, "fitted")
        return RecipeResult(
            kind="toys.linear",
            spec={"input_type": "positions_1d", "featurizer": {"name": "toys.gap_squares"},
                  "outputs": [{"name": "energy", "unit": "eV"}]},
            artifacts={"model": ctx.put_artifact(data)},
            metrics=(Metric("energy_mae_ev", mae, n=1, n_samples=len(test_idx)),),
            dataset=DatasetInfo("random spring chains", sha256_bytes(chains.tobytes()),
                                len(y)),
            description="A line fitted to toys.spring energies.",
        )

    positions = InputType("positions_1d", "x positions (Å)", parse, example=[0, 1, 3])
    domain = Domain(
        name="toys", description="toy springs",
        input_types=(positions,),
        featurizers=(Featurizer("toys.gap_squares", "positions_1d", "sum of squared gaps",
                                gap_squares),),
        simulators=(Simulator("toys.spring", "positions_1d", "harmonic chain", ("energy",),
                              {"energy": "eV"}, build),),
        model_kinds=(ModelKind("toys.linear", LinearPredictor),),
        recipes=(Recipe(ModelInfo(name="toys.spring", domain="toys", task="simulation",
                                  title="Spring chain", description="1D harmonic chain",
                                  input_type="positions_1d",
                                  outputs=(OutputSpec("energy", "eV"),)),
                        train, params={"k": 2.0}),
                 Recipe(ModelInfo(name="toys.spring_fit", domain="toys", task="regression",
                                  title="Fitted spring chain",
                                  description="A linear model of the spring chain's energy",
                                  input_type="positions_1d",
                                  outputs=(OutputSpec("energy", "eV"),)),
                        fit, params={"n": 40, "seed": 0}),))
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


def test_third_party_plugin_imports_only_hub_sdk() -> None:
    tree = ast.parse(EXTRA)
    hub_modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            hub_modules |= {a.name for a in node.names if a.name.split(".")[0] == "hub"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "hub":
            hub_modules.add(node.module)
    assert hub_modules == {"hub.sdk", "hub.sdk.predictors"}


def test_third_party_model_kind_builds_serves_and_shows_its_card(tmp_path: Path) -> None:
    """The plugin's own input type, featurizer, model kind and recipe, through the real door:
    built by ``hub build``, served by ``hub predict`` and shown by ``hub models show``."""
    site = tmp_path / "site"
    site.mkdir()
    install_fake_distribution(site)
    r = run_hub(tmp_path, site, "build", "toys.spring_fit")
    assert r.returncode == 0, r.stderr + r.stdout
    assert "toys.spring_fit:1" in r.stdout
    r = run_hub(tmp_path, site, "predict", "toys.spring_fit", "[0, 1, 3]")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.splitlines()[0])  # one JSON line per input
    assert out["unit"] == "eV" and abs(out["value"] - 5.0) < 1e-6  # 0.5 * 2 * (1 + 4)
    r = run_hub(tmp_path, site, "predict", "toys.spring_fit", '"x"')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["error"]["code"] == "invalid_positions"
    r = run_hub(tmp_path, site, "models", "show", "toys.spring_fit")
    assert r.returncode == 0, r.stderr
    card = json.loads(r.stdout)
    assert card["title"] == "Fitted spring chain" and card["outputs"][0]["unit"] == "eV"
    assert "energy_mae_ev" in r.stdout and "toys.linear" in r.stdout


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
