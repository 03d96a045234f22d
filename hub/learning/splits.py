"""Seeded random splits of a table's rows (a domain adds its own group splits: scaffolds)."""

from __future__ import annotations

import numpy as np

RANDOM_80_10_10 = "seeded random 80/10/10 splits (train/early-stop/test)"


def random_split(
    n: int, seed: int, test_fraction: float = 0.1, val_fraction: float = 0.1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, validation and test row indices of a seeded random permutation of ``n`` rows
    (at least one row each for validation and test)."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, round(n * test_fraction))
    n_val = max(1, round(n * val_fraction))
    return order[n_test + n_val :], order[n_test : n_test + n_val], order[:n_test]
