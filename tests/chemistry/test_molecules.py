"""Molecules as chemists paste them: standardised, or rejected with a typed reason."""

from __future__ import annotations

import pytest

from domains.chemistry.molecules import MAX_HEAVY_ATOMS, parse_molecule
from hub.errors import ItemError


@pytest.mark.parametrize(
    "smiles,expected,removed",
    [
        ("Br.CC(N)Cc1ccc(O)cc1", "CC(N)Cc1ccc(O)cc1", ["Br"]),
        ("CCN.Cl", "CCN", ["Cl"]),
        ("[Na+].[O-]C(=O)c1ccccc1", "O=C(O)c1ccccc1", ["[Na+]"]),
        ("C[N+](C)(C)C.[Cl-]", "C[N+](C)(C)C", ["[Cl-]"]),  # a quaternary ammonium stays charged
        ("OCC.O", "CCO", ["O"]),
    ],
)
def test_salts_and_solvents_are_stripped(smiles: str, expected: str, removed: list[str]) -> None:
    mol = parse_molecule(smiles)
    assert mol.smiles == expected and mol.removed == removed


def test_canonical_smiles_is_stable_and_keeps_stereo_and_isotopes() -> None:
    for s in ("C[C@H](N)C(=O)O", "C/C=C/C", "[2H]C([2H])([2H])O", "c1ccccc1O", "OC1=CC=CC=C1"):
        once = parse_molecule(s).smiles
        assert parse_molecule(once).smiles == once
    assert "@" in parse_molecule("C[C@H](N)C(=O)O").smiles
    assert "[2H]" in parse_molecule("[2H]C([2H])([2H])O").smiles
    assert parse_molecule("OC1=CC=CC=C1").smiles == parse_molecule("c1ccccc1O").smiles


def test_inchi_is_accepted() -> None:
    assert parse_molecule("InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3").smiles == "CCO"


@pytest.mark.parametrize(
    "raw,code,fragment",
    [
        ("", "empty_input", "empty"),
        ("   ", "empty_input", "empty"),
        ("C1CC", "invalid_smiles", "unclosed ring"),
        ("CC(", "invalid_smiles", "syntax error"),
        ("C(C)(C)(C)(C)C", "invalid_smiles", "valence"),
        ("c1cccc1", "invalid_smiles", "kekuliz"),
        ("InChI=1S/garbage", "invalid_inchi", "InChI"),
        (5, "invalid_input", "int"),
        ("C" * (MAX_HEAVY_ATOMS + 1), "too_large", str(MAX_HEAVY_ATOMS)),
    ],
)
def test_typed_errors(raw: object, code: str, fragment: str) -> None:
    with pytest.raises(ItemError) as e:
        parse_molecule(raw)
    assert e.value.code == code
    assert fragment.lower() in e.value.message.lower()
