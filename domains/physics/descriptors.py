"""Invariant descriptors of molecules for learned models: SOAP (``dscribe``), pooled per element.

``physics.soap`` turns a molecule (:class:`ase.Atoms`, non-periodic) into one float32 vector
that does not change when the molecule is rotated, translated or its atoms are permuted:

1. the local SOAP power spectrum of every atom (Gaussian-type radial basis, ``n_max`` radial
   and ``l_max`` angular channels, atomic Gaussians of width ``sigma`` Å, cutoff ``r_cut`` Å;
   rotation- and translation-invariant by construction), computed in float64;
2. averaged over the atoms of each centre element (H, C, N, O, F): permutation-invariant, and
   intensive, as a HOMO-LUMO gap is; an element absent from the molecule gives zeros;
3. followed by the number of atoms of each element (the composition, which extensive
   properties such as U0 need).

Length: ``len(species) * n_soap + len(species)`` where ``n_soap`` is dscribe's SOAP length
(840 for five species, ``n_max=4``, ``l_max=3``). An element outside ``species`` is an
``unsupported_element`` item error, never a silent extrapolation.

Featurizing a data set uses a pool of worker processes (:func:`featurize_many`): dscribe's own
``n_jobs`` was measured at 33 s for 1,000 QM9 molecules with two jobs against 1.5 s in a plain
loop (joblib's per-call start-up dominates for molecules this small).

Cost before work: dscribe's memory grows with the volume of the molecule's bounding box (two
atoms 3,000 Å apart took 7.2 GB). Each molecule is first checked against ``limits``
(:data:`~domains.physics.limits.QM9_LIMITS` by default: at most 60 atoms, 50 Å wide, one
connected molecule) and refused as ``too_many_atoms``, ``molecule_too_large`` or
``disconnected_molecule``.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from domains.physics.limits import QM9_LIMITS, limits_from
from hub.sdk import Featurizer, ItemError

DEFAULT_SOAP: dict[str, Any] = {
    "species": ["H", "C", "N", "O", "F"],
    "r_cut": 5.0,
    "n_max": 4,
    "l_max": 3,
    "sigma": 0.5,
}


def soap_pooled(
    species: Sequence[str] = ("H", "C", "N", "O", "F"),
    r_cut: float = 5.0,
    n_max: int = 4,
    l_max: int = 3,
    sigma: float = 0.5,
    limits: dict[str, Any] | None = None,
) -> Callable[[Atoms], np.ndarray]:
    """``f(atoms) -> (len(species) * (n_soap + 1),)`` float32: per-element mean SOAP, counts.

    ``r_cut`` and ``sigma`` in Å; ``limits`` as in the module docstring."""
    checked = limits_from(limits, QM9_LIMITS, "physics.soap")
    from dscribe.descriptors import SOAP

    soap = SOAP(
        species=list(species),
        r_cut=float(r_cut),
        n_max=int(n_max),
        l_max=int(l_max),
        sigma=float(sigma),
        periodic=False,
        dtype="float64",
    )
    z_species = np.array([atomic_numbers[s] for s in species])
    n_soap = soap.get_number_of_features()
    allowed = set(species)

    def featurize(atoms: Atoms) -> np.ndarray:
        if atoms.pbc.any():
            raise ItemError(
                "this model takes isolated molecules: send pbc false (no periodic cell)",
                code="invalid_atoms",
            )
        found = set(atoms.get_chemical_symbols())
        if not found <= allowed:
            extra = sorted(found - allowed)
            raise ItemError(
                f"element(s) {', '.join(extra)} outside the training set "
                f"({', '.join(species)}); this model would only extrapolate",
                code="unsupported_element",
                elements=extra,
                supported=list(species),
            )
        checked.check(atoms, "this QM9 model")
        plain = Atoms(numbers=atoms.numbers, positions=atoms.positions)
        local = np.asarray(soap.create(plain), dtype=np.float64).reshape(len(plain), n_soap)
        out = np.zeros(len(z_species) * (n_soap + 1), dtype=np.float64)
        for j, z in enumerate(z_species):
            mask = atoms.numbers == z
            if mask.any():
                out[j * n_soap : (j + 1) * n_soap] = local[mask].mean(axis=0)
            out[len(z_species) * n_soap + j] = mask.sum()
        return out.astype(np.float32)

    return featurize


SOAP_FEATURIZER = Featurizer(
    name="physics.soap",
    input_type="molecule3d",
    description=(
        "SOAP power spectrum (dscribe) of each atom, averaged per element, then the element "
        "counts: invariant to rotation, translation and permutation; params species, r_cut "
        "(Å), n_max, l_max, sigma (Å)"
    ),
    build=soap_pooled,
)

# One featurizer per worker process, built by the pool's initializer.
_worker_featurize: Callable[[Atoms], np.ndarray] | None = None


def _init_worker(params: dict[str, Any]) -> None:
    global _worker_featurize
    _worker_featurize = soap_pooled(**params)


def _run_chunk(chunk: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    assert _worker_featurize is not None
    return np.stack([_worker_featurize(Atoms(numbers=z, positions=r)) for z, r in chunk])


def featurize_many(
    numbers: Sequence[np.ndarray],
    positions: Sequence[np.ndarray],
    params: dict[str, Any],
    *,
    workers: int = 2,
    chunk: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Features of many molecules, shape (n, n_features) float32, in order.

    ``numbers[i]`` (n_atoms,) and ``positions[i]`` (n_atoms, 3) Å. With ``workers > 1`` the
    chunks run in fresh (spawned) processes, so a parent that already runs TensorFlow threads
    is never forked. ``progress(done, total)`` is called after each chunk."""
    items = list(zip(numbers, positions, strict=True))
    chunks = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    out: list[np.ndarray] = []
    if workers <= 1 or len(chunks) <= 1:
        _init_worker(params)
        for c in chunks:
            out.append(_run_chunk(c))
            if progress is not None:
                progress(sum(len(o) for o in out), len(items))
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(params,)) as pool:  # fmt: skip
        for res in pool.map(_run_chunk, chunks):
            out.append(res)
            if progress is not None:
                progress(sum(len(o) for o in out), len(items))
    return np.concatenate(out)
