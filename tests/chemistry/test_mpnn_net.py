"""The D-MPNN (domains.chemistry.mpnn): featurization, atom-order invariance, a tiny fit that
beats the mean predictor, and the saved .keras model loading with safe_mode=True."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from domains.chemistry import mpnn
from domains.chemistry.recipes import DATA

TINY = mpnn.MPNNParams(hidden=32, depth=3, ffn=32, epochs=60, patience=60, members=1)


@pytest.fixture(scope="module")
def esol() -> tuple[list[Chem.Mol], np.ndarray]:
    with gzip.open(DATA / "ESOL.csv.gz", "rt") as fh:
        rows = list(csv.DictReader(fh))[:70]
    mols = [Chem.MolFromSmiles(r["smiles"]) for r in rows]
    y = np.array([float(r["measured log solubility in mols per litre"]) for r in rows], np.float32)
    return mols, y


def test_featurization_shapes_and_masks() -> None:
    mols = [Chem.MolFromSmiles(s) for s in ("CCO", "c1ccccc1", "C")]
    g = mpnn.featurize(mols)
    assert g.atoms.shape == (3, 6, mpnn.ATOM_FEATURES)
    assert g.bonds.shape == (3, 12, mpnn.BOND_FEATURES)  # benzene: 6 bonds, 12 directed edges
    assert g.atom_mask.sum(1).tolist() == [3, 6, 1]
    assert g.edge_mask.sum(1).tolist() == [4, 12, 0]
    # edge 2k + 1 is edge 2k reversed
    assert (g.src[:, 0::2] == g.dst[:, 1::2]).all() and (g.dst[:, 0::2] == g.src[:, 1::2]).all()
    assert (g.atoms[0, :3].sum(1) > 0).all() and not g.atoms[0, 3:].any()  # padding is zero


def test_prediction_does_not_depend_on_atom_order() -> None:
    import keras

    mol = Chem.MolFromSmiles("CC(=O)Nc1ccc(O)cc1")
    order = list(np.random.default_rng(0).permutation(mol.GetNumAtoms()))
    shuffled = Chem.RenumberAtoms(mol, [int(i) for i in order])
    keras.utils.set_random_seed(0)
    model = mpnn.build_model(TINY, y_mean=-2.0, y_std=1.5)
    a, b = (np.asarray(model(mpnn.featurize([m]).inputs()))[0, 0] for m in (mol, shuffled))
    assert a == pytest.approx(b, abs=1e-4)
    other = np.asarray(model(mpnn.featurize([Chem.MolFromSmiles("CCO")]).inputs()))[0, 0]
    assert abs(other - a) > 1e-3  # and the network does see the molecule


def test_fit_on_50_molecules_beats_the_mean(
    esol: tuple[list[Chem.Mol], np.ndarray], tmp_path: Path
) -> None:
    import keras

    mols, y = esol
    g = mpnn.featurize(mols)
    train, val, test = np.arange(50), np.arange(50, 58), np.arange(58, 70)
    models = mpnn.fit(g, y, train, val, TINY, seed=1)
    mean, spread = mpnn.predict(models, g, test)
    assert mean.shape == spread.shape == (len(test),)
    rmse = np.sqrt(np.mean((mean - y[test]) ** 2))
    baseline = np.sqrt(np.mean((y[train].mean() - y[test]) ** 2))
    assert rmse < 0.8 * baseline, (rmse, baseline)

    path = tmp_path / "mpnn.keras"
    models[0].save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    again, _ = mpnn.predict([loaded], g, test)
    np.testing.assert_allclose(again, mean, atol=1e-5)
