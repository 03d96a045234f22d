"""Featurizers for molecules: RDKit count fingerprints and 2D descriptors.

``chemistry.morgan_descriptors(radius, n_bits, descriptors, elements)`` gives one float32
vector per molecule: ``log1p`` of the folded Morgan count fingerprint (``n_bits`` entries), then
the named RDKit descriptors in order. ``elements``, when set, is the set of elements the model
was trained on: a molecule with any other raises ``unsupported_element``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from rdkit.Chem import Crippen, Descriptors, rdFingerprintGenerator, rdMolDescriptors

from domains.chemistry.molecules import Molecule
from hub.errors import ItemError
from hub.plugins import Featurizer

# Cheap, physically meaningful 2D descriptors (each a few microseconds).
DESCRIPTORS: dict[str, Callable] = {
    "MolLogP": Crippen.MolLogP,
    "MolMR": Crippen.MolMR,
    "TPSA": rdMolDescriptors.CalcTPSA,
    "MolWt": Descriptors.MolWt,
    "HeavyAtomCount": lambda m: m.GetNumHeavyAtoms(),
    "NumHDonors": rdMolDescriptors.CalcNumHBD,
    "NumHAcceptors": rdMolDescriptors.CalcNumHBA,
    "NumRotatableBonds": rdMolDescriptors.CalcNumRotatableBonds,
    "RingCount": rdMolDescriptors.CalcNumRings,
    "NumAromaticRings": rdMolDescriptors.CalcNumAromaticRings,
    "FractionCSP3": rdMolDescriptors.CalcFractionCSP3,
    "NumHeteroatoms": rdMolDescriptors.CalcNumHeteroatoms,
    "LabuteASA": rdMolDescriptors.CalcLabuteASA,
    "FormalCharge": lambda m: sum(a.GetFormalCharge() for a in m.GetAtoms()),
}
DEFAULT_DESCRIPTORS = tuple(DESCRIPTORS)


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


def morgan_descriptors(
    radius: int = 2,
    n_bits: int = 2048,
    descriptors: Sequence[str] = DEFAULT_DESCRIPTORS,
    elements: Sequence[str] | None = None,
) -> Callable[[Molecule], np.ndarray]:
    """Build the featurizer; see the module docstring."""
    unknown = [d for d in descriptors if d not in DESCRIPTORS]
    if unknown:
        raise ValueError(f"unknown descriptors: {unknown}")
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    funcs = [DESCRIPTORS[d] for d in descriptors]
    allowed = frozenset(elements) if elements else None

    def featurize(mol: Molecule) -> np.ndarray:
        if allowed is not None:
            check_elements(mol, allowed)
        out = np.empty(n_bits + len(funcs), np.float32)
        out[:n_bits] = np.log1p(gen.GetCountFingerprintAsNumPy(mol.mol))
        out[n_bits:] = [f(mol.mol) for f in funcs]
        return out

    return featurize


MORGAN_DESCRIPTORS = Featurizer(
    name="chemistry.morgan_descriptors",
    input_type="smiles",
    description="log1p Morgan count fingerprint (radius, n_bits) + RDKit 2D descriptors",
    build=morgan_descriptors,
)
