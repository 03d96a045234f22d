"""Forward product prediction: the template library, the ``reactants`` input, the served model."""

from __future__ import annotations

import pytest

from domains.chemistry.products import TemplateLibrary, parse_reactants
from domains.chemistry.templates import CONDITIONS, default_templates
from hub.client import HubClient
from hub.errors import InvalidRequest, ItemError

MODEL = "chemistry.reaction-product"
PD = "[Pd].[K+].[K+].[O-]C([O-])=O"


@pytest.fixture(scope="module")
def library() -> TemplateLibrary:
    return TemplateLibrary(default_templates(), CONDITIONS)


def top(library: TemplateLibrary, raw: object, k: int = 5) -> list[tuple[str, str]]:
    return [
        (c["smiles"], c["rule"]) for c in library.propose(parse_reactants(raw), k)["candidates"]
    ]


def test_conditions_decide_between_rules(library: TemplateLibrary) -> None:
    # an acid and an amino alcohol with a coupling agent: the amide, not the ester, comes first
    hatu = "CN(C)C(=[N+](C)C)On1nnc2cccnc21.F[P-](F)(F)(F)(F)F"
    ranked = top(library, f"OC(=O)C1CC1.NCCO>{hatu}>")
    assert ranked[0] == ("O=C(NCCO)C1CC1", "amide_coupling")
    assert ("NCCOC(=O)C1CC1", "esterification") in ranked[1:]
    # an ester and a Boc group: hydroxide cleaves the ester, acid the Boc group
    sm = "CCOC(=O)C1CCN(C(=O)OC(C)(C)C)CC1"
    assert top(library, f"{sm}>[Li+].[OH-].O>")[0] == (
        "CC(C)(C)OC(=O)N1CCC(C(=O)O)CC1",
        "ester_hydrolysis",
    )
    assert top(library, f"{sm}>OC(=O)C(F)(F)F>")[0] == ("CCOC(=O)C1CCNCC1", "boc_deprotection")


def test_leaving_groups_and_catalysts(library: TemplateLibrary) -> None:
    # iodide reacts before bromide in a Suzuki coupling
    assert top(library, f"Ic1ccc(Br)cc1.OB(O)c1ccccc1>{PD}>")[0][0] == "Brc1ccc(-c2ccccc2)cc1"
    # the same product by two rules is one candidate naming both
    out = library.propose(parse_reactants(f"Clc1ccccn1.Cc1ccc(N)cc1>{PD}>"), 5)
    first = out["candidates"][0]
    assert first["smiles"] == "Cc1ccc(Nc2ccccn2)cc1"
    assert set(first["rules"]) == {"buchwald_hartwig", "snar"}
    assert "pd_or_ni" in out["conditions"]
    # a palladium complex with an N-H is a catalyst, never a reactant
    pd_cycle = "O=S(=O)(O[Pd]1c2ccccc2-c2ccccc2N~1)C(F)(F)F"
    assert all("Pd" not in s for s, _ in top(library, f"Brc1ccccc1.{pd_cycle}>>"))


def test_no_rule_applies_is_an_answer(library: TemplateLibrary) -> None:
    out = library.propose(parse_reactants("CCCC.c1ccccc1"), 5)
    assert out["candidates"] == [] and out["no_rule_applies"] is True and out["value"] is None


def test_given_product_is_ranked_not_used(library: TemplateLibrary) -> None:
    out = library.propose(parse_reactants("Brc1ccccc1.OB(O)c1ccccc1>[Pd]>c1ccc(-c2ccccc2)cc1"), 5)
    assert out["given_product_rank"] == 1
    out = library.propose(parse_reactants("Brc1ccccc1.OB(O)c1ccccc1>[Pd]>CCO"), 5)
    assert out["given_product_rank"] is None and out["value"] == "c1ccc(-c2ccccc2)cc1"


@pytest.mark.parametrize(
    "raw,code",
    [
        ("CC>O", "invalid_reaction"),  # one '>'
        (">[Pd]>", "invalid_reaction"),  # empty reactant side
        ("CC(C.CO", "invalid_smiles"),  # unbalanced parenthesis in a plain list
        ("CC(C>>", "invalid_reaction"),  # unbalanced in a reaction SMILES
        ("C" * 1_000_000, "too_large"),
        ("", "empty_input"),
        ({"reactants": [], "reagents": ["[Pd]"]}, "empty_input"),
        ({"reactants": "CCO", "catalyst": "[Pd]"}, "invalid_reaction"),
        ({"reactants": 3}, "invalid_reaction"),
        (".".join(["C"] * 30), "too_large"),
    ],
)
def test_malformed_reactants(raw: object, code: str) -> None:
    with pytest.raises(ItemError) as e:
        parse_reactants(raw)
    assert e.value.code == code, e.value.message


def test_served_model(client: HubClient) -> None:
    inputs = [
        {"reactants": ["OC(=O)c1ccccc1", "NCc1ccccc1"], "reagents": ["CCN=C=NCCCN(C)C"]},
        "CCCC",
        "C1CC.CCO",
        "CC>O",
    ]
    out = client.predict(MODEL, inputs, params={"top_k": 2}).outputs
    assert out[0]["value"] == "O=C(NCc1ccccc1)c1ccccc1" and out[0]["unit"] == "SMILES"
    assert out[0]["candidates"][0]["rule"] == "amide_coupling"
    assert 0 < out[0]["candidates"][0]["score"] <= 1 and len(out[0]["candidates"]) <= 2
    assert out[1]["no_rule_applies"] is True and out[1]["candidates"] == []
    assert out[2]["error"]["code"] == "invalid_smiles"
    assert out[3]["error"]["code"] == "invalid_reaction"
    with pytest.raises(InvalidRequest):
        client.predict(MODEL, ["CCO"], params={"top_k": 0})
    metrics = {(m["name"], m["split"]): m for m in client.model(MODEL)["versions"][0]["metrics"]}
    for split in ("hte_buchwald_hartwig", "hte_suzuki_miyaura", "textbook"):
        assert 0 < metrics[("top1_accuracy", split)]["value"] <= 1
        assert (
            metrics[("top3_accuracy", split)]["value"] >= metrics[("top1_accuracy", split)]["value"]
        )
    assert ("top1_accuracy", "textbook_williamson_ether") in metrics
