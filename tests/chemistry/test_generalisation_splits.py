"""The cluster (Butina) split and the pipeline's aggregation of seeded group splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from domains.chemistry import applicability as ad
from domains.chemistry.molecules import parse_molecule
from domains.chemistry.recipes import DATA
from domains.chemistry.splits import butina_clusters, cluster_split, scaffold_split
from hub.learning.splits import random_split
from hub.plugins import RecipeContext
from hub.sdk.learning import Evaluation, HeldOut, learn


@pytest.fixture(scope="module")
def esol() -> tuple[list, np.ndarray]:
    import csv
    import gzip

    with gzip.open(DATA / "ESOL.csv.gz", "rt") as fh:
        rows = list(csv.DictReader(fh))[:400]
    mols = [parse_molecule(r["smiles"]) for r in rows]
    y = np.array([float(r["measured log solubility in mols per litre"]) for r in rows], np.float32)
    return mols, y


def test_butina_clusters_partition_the_molecules(esol: tuple[list, np.ndarray]) -> None:
    fps = ad.fingerprints([m.mol for m in esol[0]])
    clusters = butina_clusters(fps)
    flat = sorted(i for c in clusters for i in c)
    assert flat == list(range(len(fps)))  # every molecule in exactly one cluster
    assert 1 < len(clusters) < len(fps)  # some molecules do cluster together


def test_cluster_split_keeps_clusters_whole_and_is_harder_than_random(
    esol: tuple[list, np.ndarray],
) -> None:
    fps = ad.fingerprints([m.mol for m in esol[0]])
    clusters = butina_clusters(fps)
    where = {i: k for k, c in enumerate(clusters) for i in c}
    near_cluster, near_random = [], []
    for seed in range(3):
        tr, va, te = cluster_split(clusters, seed)
        assert len(set(tr) | set(va) | set(te)) == len(fps) == len(tr) + len(va) + len(te)
        assert 0.08 * len(fps) <= len(te) <= 0.2 * len(fps)
        assert not {where[i] for i in te} & {where[i] for i in tr}  # no cluster in two parts
        near_cluster.append(ad.nearest_similarities([fps[i] for i in te], [fps[i] for i in tr]))
        r_tr, _, r_te = random_split(len(fps), seed)
        near_random.append(ad.nearest_similarities([fps[i] for i in r_te], [fps[i] for i in r_tr]))
    # test molecules of a cluster split are further from their training set than at random
    assert np.median(np.concatenate(near_cluster)) < np.median(np.concatenate(near_random)) - 0.05
    assert cluster_split(clusters, 0)[2].tolist() == cluster_split(clusters, 0)[2].tolist()
    assert cluster_split(clusters, 0)[2].tolist() != cluster_split(clusters, 1)[2].tolist()


def test_scaffold_split_has_no_scaffold_in_two_parts(esol: tuple[list, np.ndarray]) -> None:
    from domains.chemistry.splits import scaffold_of

    smiles = [m.smiles for m in esol[0]]
    tr, _, te = scaffold_split(smiles)
    assert not {scaffold_of(smiles[i]) for i in te} & {scaffold_of(smiles[i]) for i in tr}


def test_pipeline_aggregates_seeded_group_splits(
    esol: tuple[list, np.ndarray], tmp_path: Path
) -> None:
    """Three cluster splits give one metric with n = 3 and a spread; trees family, kind
    lightgbm; the global importance is one value per feature."""
    from domains.chemistry.featurizers import rdkit2d_morgan

    mols, y = esol
    x = np.stack([rdkit2d_morgan(2, 64)(m) for m in mols])
    clusters = butina_clusters(ad.fingerprints([m.mol for m in mols]))
    stored: dict[str, bytes] = {}

    def put(obj: Path | bytes) -> str:
        data = obj if isinstance(obj, bytes) else Path(obj).read_bytes()
        key = f"sha{len(stored)}"
        stored[key] = data
        return key

    params = {"seed": 0, "n_splits": 2, "family": "trees", "tree_members": 2,
              "tree_rounds": 60, "tree_stop": 10, "hidden": [8], "dropout": 0.0,
              "learning_rate": 1e-3, "weight_decay": 1e-4, "epochs": 1, "patience": 1,
              "batch_size": 64, "members": 2}  # fmt: skip
    ctx = RecipeContext(params, put, lambda f, m: None, tmp_path)

    def held_out() -> list[HeldOut]:
        return [HeldOut("cluster", *cluster_split(clusters, s), s) for s in range(3)]

    names = [f"column {k}" for k in range(x.shape[1])]
    ev = Evaluation("log_solubility", "log10(mol/L)", held_out=held_out, feature_names=names)
    learned = learn(ctx, x, y, ev)
    rmse = {m.split: m for m in learned.metrics if m.name == "rmse"}
    assert rmse["cluster"].n == 3 and rmse["cluster"].std > 0
    assert rmse["random"].n == 2
    assert learned.kind == "lightgbm" and learned.importance.shape == (x.shape[1],)
    assert stored[learned.model].startswith(b'{"format": "lightgbm-text"')
    assert b"column " in stored[learned.plots["plot_importance"]]  # the global importance plot
    assert "LightGBM" in learned.evaluation["uncertainty"]
