"""The fast descriptor path gives the old featurizer's values; the process pool keeps order and
each item's error; the cost figure is measured."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from domains.chemistry.descriptors import descriptor_plan, rdkit_descriptors
from domains.chemistry.featurizers import (
    PARALLEL_THRESHOLD,
    RDKitFeaturizer,
    legacy_rdkit2d_morgan,
    rdkit2d_morgan,
)
from domains.chemistry.molecules import Molecule, parse_molecule
from hub.sdk import ItemError

DATA = Path(__file__).resolve().parents[2] / "domains/chemistry/data"


def real_smiles(file: str, n: int) -> list[str]:
    with gzip.open(DATA / file, "rt") as fh:
        rows = [r["smiles"] for r in csv.DictReader(fh)]
    return rows[:: len(rows) // n][:n]


@pytest.fixture(scope="module")
def molecules() -> list[Molecule]:
    """120 ESOL and 120 Lipophilicity molecules, standardised as the hub does."""
    return [
        parse_molecule(s)
        for s in real_smiles("ESOL.csv.gz", 120) + real_smiles("Lipophilicity.csv.gz", 120)
    ]


def fresh(m: Molecule) -> Molecule:
    return Molecule(Chem.Mol(m.mol), m.smiles, m.input)


@pytest.mark.parametrize(
    "params", [{}, {"descriptors": "all", "n_bits": 2048}], ids=["default", "all+morgan"]
)
def test_new_featurizer_matches_the_old(molecules: list[Molecule], params: dict) -> None:
    old, new = legacy_rdkit2d_morgan(**params), rdkit2d_morgan(**params)
    for m in molecules[::2] if params else molecules:
        a, b = old(fresh(m)), new(fresh(m))
        assert a.shape == b.shape == (new.width,)
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6, err_msg=m.smiles)


def test_every_descriptor_matches_rdkit_calcmoldescriptors(molecules: list[Molecule]) -> None:
    """Raw values (before the log scale), all 217, against RDKit's own CalcMolDescriptors; with
    molecules that keep H atoms (isotopes: qed's general path) and a single atom."""
    from rdkit.Chem import Descriptors

    names = list(rdkit_descriptors())
    plan = descriptor_plan(names)
    with_h = [parse_molecule(s) for s in ("[2H]OC(=O)c1ccccc1", "[3H]C([3H])C=O", "[Na+].[Cl-]")]
    assert all(any(a.GetAtomicNum() == 1 for a in m.mol.GetAtoms()) for m in with_h[:2])
    for m in molecules[::15] + with_h:
        ref = Descriptors.CalcMolDescriptors(fresh(m).mol)
        got = plan(fresh(m).mol)
        want = np.array([ref[n] for n in names], np.float64)
        bad = [n for n, a, b in zip(names, got, want, strict=True) if not abs(a - b) <= 1e-6]
        assert not bad, (m.smiles, bad)


def test_unknown_descriptor_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown RDKit descriptors"):
        RDKitFeaturizer(descriptors=["MolWt", "NoSuchThing"])


def test_cost_per_molecule_is_measured() -> None:
    cheap, dear = rdkit2d_morgan(descriptors=["MolWt"]), rdkit2d_morgan(descriptors="all")
    assert 0 < cheap.cost_us < dear.cost_us


def test_pool_keeps_order_and_each_items_error(molecules: list[Molecule]) -> None:
    """Above the threshold the batch goes to the process pool: same vectors, same order, and
    each bad input's own error (parse errors and the element check alike)."""
    good = molecules[: PARALLEL_THRESHOLD + 10]
    elements = {a.GetSymbol() for m in good for a in m.mol.GetAtoms()}
    assert "Si" not in elements
    f = rdkit2d_morgan(n_bits=64, elements=sorted(elements))

    class Raw:  # what the pool sends: the input text, which the worker parses itself
        def __init__(self, text: str) -> None:
            self.input = text

    batch: list = list(good)
    batch.insert(3, Raw("C1CC"))  # unclosed ring
    batch.insert(20, Raw("[Si](C)(C)(C)C"))  # silicon: not an element of this model
    batch.insert(len(batch), Raw(""))
    out = f.many(batch, processes=2)
    assert len(out) == len(batch)
    assert isinstance(out[3], ItemError) and out[3].code == "invalid_smiles"
    assert isinstance(out[20], ItemError) and out[20].code == "unsupported_element"
    assert out[20].detail == {"elements": ["Si"]}
    assert isinstance(out[-1], ItemError) and out[-1].code == "empty_input"
    vectors = [v for v in out if not isinstance(v, Exception)]
    assert len(vectors) == len(good)
    here = f.many(good, processes=1)
    for a, b in zip(vectors, here, strict=True):
        np.testing.assert_array_equal(a, b)


def test_small_batches_stay_in_process() -> None:
    import domains.chemistry.descriptors_pool as pool_module

    f = rdkit2d_morgan()
    before = pool_module._pool
    out = f.many([parse_molecule("CCO"), Molecule(None, "x", "x")])  # type: ignore[arg-type]
    assert pool_module._pool is before
    assert isinstance(out[0], np.ndarray) and isinstance(out[1], Exception)


def test_parse_and_featurize_on_the_pool_gives_molecules_and_vectors() -> None:
    """The hub's path for a large batch: strings in, (molecule, vector) or the error out, the
    same as parsing and featurizing here."""
    f = rdkit2d_morgan(n_bits=32)
    texts = real_smiles("ESOL.csv.gz", PARALLEL_THRESHOLD + 6)
    texts[5] = "c1ccccc1N(=O)=O.[Na+].[Cl-]"  # salts stripped: reported in `removed`
    texts[9] = "not a smiles"
    pooled = f.parse_and_featurize(texts, processes=2)
    here = f.parse_and_featurize(texts, processes=1)
    assert len(pooled) == len(here) == len(texts)
    for a, b in zip(pooled, here, strict=True):
        if isinstance(b, Exception):
            assert isinstance(a, ItemError) and a.to_dict() == b.to_dict()
            continue
        (ma, va), (mb, vb) = a, b
        np.testing.assert_array_equal(va, vb)
        assert (ma.smiles, ma.input, ma.removed, ma.neutralized) == (
            mb.smiles, mb.input, mb.removed, mb.neutralized,
        )  # fmt: skip
        assert Chem.MolToSmiles(ma.mol) == mb.smiles
    assert pooled[5][0].removed


def test_a_failing_chunk_fails_its_items_not_the_call() -> None:
    from domains.chemistry.descriptors_pool import WorkerFailure, featurize_inputs

    out = featurize_inputs({"no_such_parameter": 1}, ["CCO"] * 20, processes=2)
    assert len(out) == 20 and all(isinstance(o, WorkerFailure) for o in out)
    assert "no_such_parameter" in str(out[0])
