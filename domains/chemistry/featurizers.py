"""Featurizers for molecules: RDKit 2D descriptors and Morgan count fingerprints.

``chemistry.rdkit2d_morgan(radius, n_bits, descriptors, elements)`` gives one float32 vector
per molecule: ``log1p`` of the folded Morgan count fingerprint (``n_bits`` entries; 0 for none),
then the named RDKit descriptors, each as ``sign(x) * log1p(|x|)`` so that heavy-tailed ones
(molecular weight, topological indices) stay on a scale an MLP trains well on. ``elements``,
when set, is the set of elements the model was trained on: a molecule with any other raises
``unsupported_element``.

The default descriptor set is RDKit's whole 2D list but for the slowest few (``qed``, BCUT2D,
``SPS``, ``Ipc``, ``AvgIpc``); ``descriptors="all"`` takes every one. The descriptors are
computed by :mod:`domains.chemistry.descriptors` (shared intermediates once, same values as
RDKit's functions; the old per-function path is :func:`legacy_rdkit2d_morgan`, kept as the
reference the tests compare against).

No cheaper set is offered: taking out any costly group of the default set (the ``fr_*``
SMARTS counts, BertzCT, the EState family, the Morgan densities) lost accuracy in our
measurements (docs/featurizer.md, "accuracy per microsecond").

The built featurizer (:class:`RDKitFeaturizer`) is ``f(molecule) -> vector``, as the hub
expects, plus ``f.many(molecules)`` and ``f.parse_and_featurize(strings)`` (a batch, on all
cores from :data:`PARALLEL_THRESHOLD` items, in order, errors per item) and ``f.cost_us``
(measured CPU µs per molecule).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from domains.chemistry.descriptors import descriptor_plan, rdkit_descriptors
from domains.chemistry.molecules import Molecule
from hub.sdk import Featurizer, ItemError

SLOW = ("qed", "SPS", "Ipc", "AvgIpc")
PARALLEL_THRESHOLD = 64  # molecules: smaller batches stay in process (see docs/featurizer.md)
# drug-like and small molecules the cost figure is measured on (ESOL, Lipophilicity rows)
COST_SMILES = (
    "CC(=O)Oc1ccccc1C(=O)O",
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
    "CC(C)Cc1ccc(C(C)C(=O)O)cc1",
    "O=C(O)c1ccccc1O",
    "Clc1ccc(Cl)c(Cl)c1",
    "CCCCCCCCO",
    "O=C1NC(=O)C(c2ccccc2)(c2ccccc2)N1",
    "CN1CCC[C@H]1c1cccnc1",
    "COc1cc2c(cc1OC)C(=O)C(CC1CCN(Cc3ccccc3)CC1)C2",
    "Cc1ccc(S(=O)(=O)NC(=O)NN2CC3CCCC3C2)cc1",
    "CC(C)NCC(O)COc1cccc2ccccc12",
    "O=C(Nc1ccc(Cl)cc1)Nc1ccc(Cl)c(Cl)c1",
    "CCN(CC)C(=O)c1ccc2c(c1)N(C)c1ccccc1S2",
    "NC(=O)c1cnccn1",
    "CC12CCC3c4ccc(O)cc4CCC3C1CCC2O",
    "c1ccc2cc3ccccc3cc2c1",
)


def default_descriptors() -> tuple[str, ...]:
    return tuple(n for n in rdkit_descriptors() if n not in SLOW and not n.startswith("BCUT2D"))


def check_elements(mol: Molecule, allowed: frozenset[str]) -> None:
    found = {a.GetSymbol() for a in mol.mol.GetAtoms()}
    extra = sorted(found - allowed)
    if extra:
        raise ItemError(
            f"element(s) {', '.join(extra)} not covered by this model (trained on "
            f"{', '.join(sorted(allowed))})",
            code="unsupported_element",
            elements=extra,
        )


def _names(
    descriptors: Sequence[str] | str | None, default: Callable[[], tuple[str, ...]]
) -> tuple[str, ...]:
    table = rdkit_descriptors()
    if descriptors == "all":
        names = tuple(table)
    else:
        names = tuple(descriptors) if descriptors is not None else default()
    unknown = [d for d in names if d not in table]
    if unknown:
        raise ValueError(f"unknown RDKit descriptors: {unknown}")
    return names


def signed_log(d: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)`` after NaN -> 0 and clipping to +-1e12, as float32."""
    d = np.clip(np.nan_to_num(d, nan=0.0, posinf=1e12, neginf=-1e12), -1e12, 1e12)
    return (np.sign(d) * np.log1p(np.abs(d))).astype(np.float32)


class RDKitFeaturizer:
    """``f(molecule) -> float32 vector`` (Morgan counts then descriptors); see the module."""

    def __init__(
        self,
        radius: int = 2,
        n_bits: int = 0,
        descriptors: Sequence[str] | str | None = None,
        elements: Sequence[str] | None = None,
        *,
        name: str = "chemistry.rdkit2d_morgan",
        default: Callable[[], tuple[str, ...]] = default_descriptors,
    ) -> None:
        self.names = _names(descriptors, default)
        self.params: dict[str, Any] = {
            "radius": radius, "n_bits": n_bits, "descriptors": list(self.names),
            "elements": sorted(elements) if elements else None,
        }  # fmt: skip
        self.featurizer_name = name
        self._plan = descriptor_plan(self.names)
        self._gen = (
            rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
            if n_bits
            else None
        )
        self._allowed = frozenset(elements) if elements else None
        self.width = n_bits + len(self.names)
        self.parallel_threshold = PARALLEL_THRESHOLD  # batches from this size use the pool
        self.cost_basis = (
            f"median over {len(COST_SMILES)} drug-like molecules (ESOL and Lipophilicity rows), "
            "each a fresh copy, measured by the featurizer"
        )

    def __call__(self, mol: Molecule) -> np.ndarray:
        if self._allowed is not None:
            check_elements(mol, self._allowed)
        d = signed_log(self._plan(mol.mol))
        if self._gen is None:
            return d
        fp = np.log1p(self._gen.GetCountFingerprintAsNumPy(mol.mol).astype(np.float32))
        return np.concatenate([fp, d])

    def many(
        self, mols: Sequence[Molecule], *, processes: int | None = None
    ) -> list[np.ndarray | Exception]:
        """Each molecule's vector, or the exception it raised, in order. Batches of at least
        ``parallel_threshold`` (:data:`PARALLEL_THRESHOLD` unless set) go to the warm process pool
        (:mod:`domains.chemistry.descriptors_pool`) as their input strings; smaller ones, or
        ``processes=1``, or in a daemonic process (a Dask worker), run here."""
        from domains.chemistry.descriptors_pool import can_pool, featurize_inputs

        if processes == 1 or len(mols) < self.parallel_threshold or not can_pool():
            return [_attempt(self, m) for m in mols]
        return featurize_inputs(self.params, [m.input for m in mols], processes=processes)

    def parse_and_featurize(
        self, inputs: Sequence[str], *, processes: int | None = None
    ) -> list[tuple[Molecule, np.ndarray] | Exception]:
        """Each input string parsed and standardised
        (:func:`domains.chemistry.molecules.parse_molecule`) and featurized, or the exception
        it raised, in order; on the process pool from ``parallel_threshold`` inputs (the
        parse, about a third of the time, runs there too), else (or in a daemonic process: a
        Dask worker) here."""
        from domains.chemistry.descriptors_pool import can_pool, featurize_inputs
        from domains.chemistry.molecules import parse_molecule

        if processes == 1 or len(inputs) < self.parallel_threshold or not can_pool():
            out: list[tuple[Molecule, np.ndarray] | Exception] = []
            for raw in inputs:
                try:
                    m = parse_molecule(raw)
                    out.append((m, self(m)))
                except Exception as exc:  # noqa: BLE001 - each item keeps its own failure
                    out.append(exc)
            return out
        return featurize_inputs(self.params, inputs, processes=processes, molecules=True)

    @cached_property
    def cost_us(self) -> float:
        """Median CPU time per molecule of this featurizer, µs, over :data:`COST_SMILES`
        (measured once, on first use, on this machine)."""
        from domains.chemistry.molecules import parse_molecule

        mols = [parse_molecule(s) for s in COST_SMILES]
        times = []
        for m in mols:
            fresh = Molecule(Chem.Mol(m.mol), m.smiles, m.input)
            t0 = time.thread_time()
            self(fresh)
            times.append(time.thread_time() - t0)
        return round(float(np.median(times)) * 1e6, 1)


def _attempt(featurize: Callable[[Molecule], np.ndarray], mol: Molecule) -> np.ndarray | Exception:
    try:
        return featurize(mol)
    except Exception as exc:  # noqa: BLE001 - each item keeps its own failure
        return exc


def rdkit2d_morgan(
    radius: int = 2,
    n_bits: int = 0,
    descriptors: Sequence[str] | str | None = None,
    elements: Sequence[str] | None = None,
) -> RDKitFeaturizer:
    """Build the featurizer; see the module docstring."""
    return RDKitFeaturizer(radius, n_bits, descriptors, elements)


def legacy_rdkit2d_morgan(
    radius: int = 2,
    n_bits: int = 0,
    descriptors: Sequence[str] | str | None = None,
    elements: Sequence[str] | None = None,
) -> Callable[[Molecule], np.ndarray]:
    """The featurizer as it was before :mod:`domains.chemistry.descriptors`: RDKit's function
    for each descriptor, in order. The reference the new path is tested against."""
    table = rdkit_descriptors()
    funcs = [table[d] for d in _names(descriptors, default_descriptors)]
    gen = (
        rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits) if n_bits else None
    )
    allowed = frozenset(elements) if elements else None

    def featurize(mol: Molecule) -> np.ndarray:
        if allowed is not None:
            check_elements(mol, allowed)
        d = signed_log(np.array([f(mol.mol) for f in funcs], np.float64))
        if gen is None:
            return d
        fp = np.log1p(gen.GetCountFingerprintAsNumPy(mol.mol).astype(np.float32))
        return np.concatenate([fp, d])

    return featurize


RDKIT2D_MORGAN = Featurizer(
    name="chemistry.rdkit2d_morgan",
    input_type="smiles",
    description=(
        "RDKit 2D descriptors (signed log scale) after an optional log1p Morgan count "
        "fingerprint (radius, n_bits)"
    ),
    build=rdkit2d_morgan,
)
