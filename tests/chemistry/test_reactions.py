"""Reactions: parsing with typed errors, and the yield models as served."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from domains.chemistry.reactions import parse_reaction
from hub.client import HubClient
from hub.errors import ItemError

DATA = Path(__file__).resolve().parents[2] / "domains" / "chemistry" / "data"


def test_forms_of_reaction_input() -> None:
    r = parse_reaction("CC(=O)O.OCC>[H+]>CC(=O)OCC")
    assert r.reactants == ["CC(=O)O", "CCO"] and r.agents == ["[H+]"]
    assert r.products == ["CCOC(C)=O"]
    assert parse_reaction("CC(=O)O.OCC>>CC(=O)OCC").agents == []
    roles = parse_reaction({"aryl_halide": "Brc1ccccn1", "amine": "Cc1ccc(N)cc1"})
    assert roles.roles["aryl_halide"] == "Brc1ccccn1" and len(roles.components) == 2


@pytest.mark.parametrize(
    "raw,code",
    [
        ("CCO", "invalid_reaction"),  # no '>>'
        ("CC>O>C>C", "invalid_reaction"),  # too many '>'
        (">>CCO", "invalid_reaction"),  # empty reactant side
        ("CC(C>>CC", "invalid_reaction"),  # unbalanced parenthesis
        ("C[CH2>>CC", "invalid_reaction"),  # unbalanced bracket
        ("C1CC>>CC", "invalid_smiles"),
        ("CC>>C(C)(C)(C)(C)C", "invalid_smiles"),
        ("", "empty_input"),
        ("C" * 1_000_000 + ">>C", "too_large"),
        (42, "invalid_input"),
        ({"flux_capacitor": "C"}, "invalid_reaction"),
        ({"amine": 5}, "invalid_reaction"),
        ({}, "empty_input"),
    ],
)
def test_malformed_reactions(raw: object, code: str) -> None:
    with pytest.raises(ItemError) as e:
        parse_reaction(raw)
    assert e.value.code == code, e.value.message


def test_bad_component_is_named() -> None:
    with pytest.raises(ItemError) as e:
        parse_reaction("CCO.C1CC>>CCO")
    assert "C1CC" in e.value.message


@pytest.mark.parametrize(
    "name,file,scale",
    [
        ("chemistry.yield-buchwald-hartwig", "DreherDoyle.csv.gz", 1.0),
        ("chemistry.yield-suzuki-miyaura", "SuzukiMiyaura.csv.gz", 100.0),
    ],
)
def test_yield_models(client: HubClient, name: str, file: str, scale: float) -> None:
    with gzip.open(DATA / file, "rt") as fh:
        rows = [r for _, r in zip(range(20), csv.DictReader(fh), strict=False)]
    out = client.predict(name, [r["rxn"] for r in rows] + ["CCO>>", "not a reaction"]).outputs
    for o in out[:20]:
        assert o["unit"] == "%" and 0 <= o["value"] <= 100 and o["uncertainty"] >= 0
        assert o["in_domain"] is True and o["domain"]["unseen_components"] == []
    assert out[20]["in_domain"] is False  # ethanol was never a component
    assert out[21]["error"]["code"] == "invalid_reaction"
    card = client.model(name)
    assert card["input"]["example"] == rows[0]["rxn"]  # the card's example is in domain
    metrics = {(m["name"], m["split"]) for m in card["versions"][0]["metrics"]}
    assert {
        ("r2", "random_70_30"),
        ("rmse", "random_70_30"),
        ("mae", "random_70_30"),
        ("within_1sigma", "random_70_30"),
    } <= metrics


def test_missing_components_are_out_of_domain(client: HubClient) -> None:
    out = client.predict(
        "chemistry.yield-buchwald-hartwig", [{"aryl_halide": "Brc1ccccn1", "amine": "Cc1ccc(N)cc1"}]
    ).outputs[0]
    assert out["in_domain"] is False and "components" in out["domain"]["warning"]


def test_reaction_drawing_widens_with_its_molecules() -> None:
    """A six-component HTE reaction gets a wider canvas than an esterification, so that its
    molecules are not drawn smaller (the page scales the drawing to its width)."""
    import re

    from domains.chemistry.depict import depict_reaction

    def width(svg: str) -> int:
        return int(re.search(r"width='(\d+)px'", svg).group(1))

    small = depict_reaction(parse_reaction("CCO.CC(=O)O>>CCOC(C)=O"))
    big = depict_reaction(
        parse_reaction(
            "Brc1ccccn1.Cc1ccc(N)cc1.CN(C)C(=NC(C)(C)C)N(C)C.Cc1cc(C)on1.CCN(CC)CC.O>>Cc1ccc(Nc2ccccn2)cc1"
        )
    )
    assert width(small) == 600 and width(big) == 7 * 190
    assert "<svg" in big and "<script" not in big


def test_additive_held_out_splits() -> None:
    """The recipe's 4 additive splits: each additive is tested exactly once, never trained on
    in its own split, and train, validation and test partition the rows."""
    from domains.chemistry.recipes_yield import additive_held_out

    with gzip.open(DATA / "DreherDoyle.csv.gz", "rt") as fh:
        groups = [r["additive"] for r in csv.DictReader(fh)]
    splits = additive_held_out(groups, seed=0)
    assert len(splits) == 4 and [s[3] for s in splits] == [50, 51, 52, 53]
    tested: list[str] = []
    for i_tr, i_va, i_te, _ in splits:
        assert sorted([*i_tr, *i_va, *i_te]) == list(range(len(groups)))
        held = {groups[i] for i in i_te}
        assert not held & {groups[i] for i in [*i_tr, *i_va]}
        assert len(i_va) == (len(i_tr) + len(i_va)) // 10
        tested += sorted(held)
    assert sorted(tested) == sorted(set(groups)) and len(tested) == 22
