"""A daemonic process (a worker of Dask's nanny, a process-pool child) may not start children:
there the chemistry featurizer featurizes a large batch in process instead of on its pool,
with the same values."""

from __future__ import annotations

import multiprocessing

import numpy as np

SMILES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "not a smiles"] * 20  # 80: over 64


def _featurize(queue: multiprocessing.Queue) -> None:
    from domains.chemistry.featurizers import RDKitFeaturizer

    f = RDKitFeaturizer()
    f.parallel_threshold = 2
    out = f.parse_and_featurize(SMILES)
    queue.put([None if isinstance(o, Exception) else o[1].tolist() for o in out])


def test_a_daemonic_process_featurizes_in_process() -> None:
    from domains.chemistry.featurizers import RDKitFeaturizer

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_featurize, args=(queue,), daemon=True)
    child.start()
    got = queue.get(timeout=120)
    child.join(30)
    assert child.exitcode == 0
    here = RDKitFeaturizer().parse_and_featurize(SMILES, processes=1)
    assert [g is None for g in got] == [isinstance(h, Exception) for h in here]
    for g, h in zip(got, here, strict=True):
        if g is not None:
            np.testing.assert_array_equal(np.asarray(g, np.float32), h[1])
