"""The property models as served: uncertainty, applicability domain, explanations, batches,
files."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from hub.client import HubClient
from hub.errors import InvalidRequest

MODELS = ["chemistry.solubility", "chemistry.lipophilicity", "chemistry.hydration-free-energy"]
DATA = Path(__file__).resolve().parents[2] / "domains" / "chemistry" / "data"


@pytest.mark.parametrize("name", MODELS)
def test_card_shows_calibration_domain_and_splits(client: HubClient, name: str) -> None:
    card = client.model(name)
    v = card["versions"][0]
    metrics = {(m["name"], m["split"]): m for m in v["metrics"]}
    for key in (
        "rmse",
        "mae",
        "r2",
        "within_1sigma",
        "within_2sigma",
        "spearman_sigma_error",
        "sigma_scale",
        "ad_threshold",
        "fraction_in_domain",
        "rmse_in_domain",
    ):
        assert (key, "random") in metrics, key
    assert metrics[("rmse", "random")]["n"] == v["recipe_params"]["n_splits"]
    assert 0 < metrics[("ad_threshold", "random")]["value"] < 1
    ev = v["spec"]["evaluation"]
    assert "Tanimoto" in ev["applicability_domain"] and "sigma" in ev["uncertainty"]
    assert v["dataset"]["citation"] and len(v["dataset"]["sha256"]) == 64


def test_every_prediction_carries_its_evidence(client: HubClient) -> None:
    out = client.predict("chemistry.solubility", ["c1ccccc1O", "Br.CC(N)Cc1ccc(O)cc1"]).outputs
    for o in out:
        assert o["unit"] == "log10(mol/L)" and o["uncertainty"] > 0
        assert isinstance(o["in_domain"], bool)
        d = o["domain"]
        assert 0 <= d["nearest_similarity"] <= 1 and d["threshold"] > 0
    assert out[0]["in_domain"] and out[0]["domain"]["nearest_similarity"] == 1.0  # phenol: ESOL
    assert out[1]["standardization"] == ["removed fragments: Br"]
    far = client.predict("chemistry.solubility", ["[Si](C)(C)(C)O[Si](C)(C)O[Si](C)(C)C"])
    assert far.outputs[0].get("in_domain") is False or "error" in far.outputs[0]


def test_unsupported_element(client: HubClient) -> None:
    out = client.predict("chemistry.hydration-free-energy", ["C[Se]C", "CC[Hg]Cl"]).outputs
    assert {o["error"]["code"] for o in out} == {"unsupported_element"}
    assert "Se" in out[0]["error"]["message"]


def test_explanations(client: HubClient) -> None:
    out = client.explain("chemistry.solubility", ["c1ccccc1O", "C1CC"]).outputs
    ex = out[0]["explanation"]
    assert [a["symbol"] for a in ex["atoms"]] == ["O", "c", "c", "c", "c", "c", "c"] or len(
        ex["atoms"]
    ) == 7
    assert any(a["contribution"] != 0 for a in ex["atoms"])
    assert ex["svg"].lstrip().startswith("<?xml") and "</svg>" in ex["svg"]
    assert out[1]["error"]["code"] == "invalid_smiles"
    same = client.predict("chemistry.solubility", ["c1ccccc1O"], params={"explain": True})
    assert same.outputs[0]["explanation"]["atoms"] == ex["atoms"]
    with pytest.raises(InvalidRequest):
        client.predict("chemistry.solubility", ["CCO"], params={"explian": True})
    with pytest.raises(InvalidRequest):
        client.explain("physics.emt", [{"symbols": ["Cu"], "positions": [[0, 0, 0]]}])


def test_ten_thousand_in_order_with_one_invalid(client: HubClient, server_url: str) -> None:
    with gzip.open(DATA / "ESOL.csv.gz", "rt") as fh:
        smiles = [r["smiles"] for r in csv.DictReader(fh)]
    batch = [smiles[i % len(smiles)] for i in range(10_000)]
    batch[4321] = "C1CC(not smiles"
    # about 30 s on an idle 2-core machine (descriptors, ~3 ms a molecule); a caller sending
    # 10,000 molecules in one request sets a timeout to match, as here
    with HubClient(server_url, timeout_s=600) as patient:
        out = patient.predict("chemistry.solubility", batch).outputs
    assert len(out) == 10_000
    assert out[4321]["error"]["code"] == "invalid_smiles"
    assert sum("error" in o for o in out) == 1
    first = client.predict("chemistry.solubility", smiles[:5]).outputs
    for i in range(5):  # order kept: the same molecule gives the same answer
        assert out[i]["value"] == pytest.approx(first[i]["value"], abs=1e-5)
        assert out[i + len(smiles)]["smiles"] == first[i]["smiles"]


def test_files_through_client_and_cli(client: HubClient, tmp_path: Path, built_home) -> None:
    import os
    import subprocess
    import sys

    from rdkit import Chem

    csv_path = tmp_path / "mols.csv"
    csv_path.write_text("name,SMILES\nethanol,CCO\nphenol,c1ccccc1O\nbad,C1CC\n")
    smi_path = tmp_path / "mols.smi"
    smi_path.write_text("# a comment\nCCO ethanol\n\nc1ccccc1O phenol\n")
    sdf_path = tmp_path / "mols.sdf"
    with Chem.SDWriter(str(sdf_path)) as w:
        for s in ("CCO", "c1ccccc1O"):
            w.write(Chem.MolFromSmiles(s))
    got = client.predict_file("chemistry.solubility", csv_path)
    assert [o.get("smiles") for o in got.outputs] == ["CCO", "Oc1ccccc1", None]
    for path in (smi_path, sdf_path):
        out = client.predict_file("chemistry.solubility", path, chunk=1).outputs
        assert [o["smiles"] for o in out] == ["CCO", "Oc1ccccc1"]
    env = {**os.environ, "HUB_HOME": str(built_home)}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "predict",
            "chemistry.solubility",
            "--file",
            str(sdf_path),
            "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.count('"smiles": "CCO"') == 2 and "Oc1ccccc1" in r.stdout
