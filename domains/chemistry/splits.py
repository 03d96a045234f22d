"""Bemis-Murcko scaffold splits and Butina cluster splits of molecules (the random ones are
the pipeline's: hub.sdk.learning)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

SCAFFOLD_SPLITTER = (
    "scaffold (DeepChem order): Bemis-Murcko scaffold sets sorted largest "
    "first and filled into train, then validation, then test; all acyclic "
    "molecules share the empty scaffold, the largest set, so they are in train"
)


def scaffold_of(smiles: str) -> str:
    mol = Chem.MolFromSmiles(smiles)
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False) if mol else ""


def scaffold_split(
    smiles: Sequence[str], test_fraction: float = 0.1, val_fraction: float = 0.1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic scaffold split, as :data:`SCAFFOLD_SPLITTER` describes."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(smiles):
        groups[scaffold_of(s)].append(i)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    n = len(smiles)
    train_cut, val_cut = (1 - test_fraction - val_fraction) * n, (1 - test_fraction) * n
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for _, idx in ordered:
        if len(train) + len(idx) <= train_cut:
            train += idx
        elif len(train) + len(val) + len(idx) <= val_cut:
            val += idx
        else:
            test += idx
    return np.array(train), np.array(val), np.array(test)


CLUSTER_CUTOFF = 0.6  # Tanimoto distance: molecules closer than this join a centroid's cluster
CLUSTER_SPLITTER = (
    "cluster (Butina): Morgan fingerprints (radius 2, 2048 bits) clustered by Butina at "
    f"Tanimoto distance {CLUSTER_CUTOFF} (similarity {1 - CLUSTER_CUTOFF:.1f}); clusters "
    "in a seeded random order filled into test, then validation (10 % each), the rest "
    "train; several seeds"
)


def butina_clusters(fps: Sequence, cutoff: float = CLUSTER_CUTOFF) -> list[list[int]]:
    """Butina clusters of RDKit bit fingerprints ``fps`` at Tanimoto distance ``cutoff``
    (row indices, each cluster's centroid first)."""
    from rdkit import DataStructs
    from rdkit.ML.Cluster import Butina

    dists: list[float] = []
    for i in range(1, len(fps)):
        sims = DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i])
        dists.extend(1.0 - s for s in sims)
    return [list(c) for c in Butina.ClusterData(dists, len(fps), cutoff, isDistData=True)]


def cluster_split(
    clusters: Sequence[Sequence[int]],
    seed: int,
    test_fraction: float = 0.1,
    val_fraction: float = 0.1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, validation and test rows from whole ``clusters`` (:data:`CLUSTER_SPLITTER`):
    no cluster is split between parts, so test molecules have no close analogue in train
    but by chance across cluster borders."""
    n = sum(len(c) for c in clusters)
    order = np.random.default_rng(seed).permutation(len(clusters))
    n_test, n_val = round(n * test_fraction), round(n * val_fraction)
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for k in order:
        c = list(clusters[k])
        if len(test) < n_test:
            test += c
        elif len(val) < n_val:
            val += c
        else:
            train += c
    return np.array(train, int), np.array(val, int), np.array(test, int)
