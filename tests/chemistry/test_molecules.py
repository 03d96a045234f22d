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
        ("C" * (MAX_HEAVY_ATOMS + 1), "too_many_atoms", str(MAX_HEAVY_ATOMS)),
    ],
)
def test_typed_errors(raw: object, code: str, fragment: str) -> None:
    with pytest.raises(ItemError) as e:
        parse_molecule(raw)
    assert e.value.code == code
    assert fragment.lower() in e.value.message.lower()


MALFORMED = [
    ("", "empty_input"),
    ("   ", "empty_input"),
    ("C1CC", "invalid_smiles"),  # unclosed ring
    ("c1ccccc", "invalid_smiles"),  # unclosed aromatic ring
    ("C1CC1C1", "invalid_smiles"),  # ring bond left open
    ("CC(", "invalid_smiles"),  # unclosed branch
    ("CC)", "invalid_smiles"),  # unopened branch
    ("[C", "invalid_smiles"),  # unclosed bracket atom
    ("C]", "invalid_smiles"),
    ("C==C", "invalid_smiles"),  # two bond symbols
    ("CC%", "invalid_smiles"),  # incomplete ring number
    ("[Xx]", "invalid_smiles"),  # unknown element
    ("12345", "invalid_smiles"),
    ("hello", "invalid_smiles"),
    ("C(C)(C)(C)(C)C", "invalid_smiles"),  # pentavalent carbon
    ("F(F)F", "invalid_smiles"),  # divalent fluorine
    ("O=O=O", "invalid_smiles"),
    ("[CH5]", "invalid_smiles"),
    ("C[N](C)(C)(C)C", "invalid_smiles"),  # neutral pentavalent nitrogen
    ("c1cccc1", "invalid_smiles"),  # cannot be kekulized
    ("c1ccnc1", "invalid_smiles"),  # pyrrole without [nH]
    ("InChI=1S/nonsense", "invalid_inchi"),
    (None, "invalid_input"),
    (["CCO"], "invalid_input"),
    ("C" * 5000, "too_large"),
    ("CCCCCCCCCC" * 16, "too_many_atoms"),
]


@pytest.mark.parametrize("raw,code", MALFORMED)
def test_malformed_smiles(raw: object, code: str) -> None:
    with pytest.raises(ItemError) as e:
        parse_molecule(raw)
    assert e.value.code == code, e.value.message
    assert e.value.message


def test_at_least_twenty_kinds_of_malformed_smiles() -> None:
    assert len([m for m in MALFORMED if m[1] == "invalid_smiles"]) >= 18
    assert len(MALFORMED) >= 20


@pytest.mark.parametrize(
    "smiles,expected,note",
    [
        ("CC(=O)[O-]", "CC(=O)O", "charges neutralised"),  # carboxylate takes its proton back
        ("C[NH3+]", "CN", "charges neutralised"),
        ("C[N+](C)(C)C", "C[N+](C)(C)C", None),  # no neutral form: stays charged
        ("[O-][N+](=O)c1ccccc1", "O=[N+]([O-])c1ccccc1", None),  # nitro: zwitterion kept
        ("C1=CC=CC=C1", "c1ccccc1", None),  # Kekulé input, aromatic output
        ("c1cc[nH]c1", "c1cc[nH]c1", None),
        ("[13CH3]O", "[13CH3]O", None),
        ("F/C=C/F", "F/C=C/F", None),
        ("F/C=C\\F", "F/C=C\\F", None),
        ("N[C@@H](C)C(=O)O", "C[C@H](N)C(=O)O", None),
    ],
)
def test_charged_aromatic_isotopic_stereo(smiles: str, expected: str, note: str | None) -> None:
    mol = parse_molecule(smiles)
    assert mol.smiles == expected
    notes = mol.describe().get("standardization", [])
    assert (note in notes) if note else not any("charges" in n for n in notes)


def test_metals_are_stripped_or_reported() -> None:
    cisplatin_like = parse_molecule("[Na+].[Cl-].CC(=O)O")
    assert cisplatin_like.smiles == "CC(=O)O"
    ferrocene = parse_molecule("[CH-]1C=CC=C1.[CH-]1C=CC=C1.[Fe+2]")
    assert "Fe" not in ferrocene.smiles  # largest organic fragment kept
    salt = parse_molecule("[Na+].[Cl-]")  # nothing organic: the largest fragment stays
    assert salt.smiles in ("[Na+]", "[Cl-]", "[Na]", "Cl")


def test_molfile_blocks_are_read() -> None:
    from rdkit import Chem

    block = Chem.MolToMolBlock(Chem.MolFromSmiles("c1ccccc1O"))
    assert parse_molecule(block).smiles == "Oc1ccccc1"
    with pytest.raises(ItemError) as e:
        parse_molecule("garbage\n\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\nM  END")
    assert e.value.code in ("invalid_molfile", "empty_input")
