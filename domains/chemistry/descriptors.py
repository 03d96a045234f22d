"""RDKit 2D descriptors computed with their shared intermediates once, to the same values.

:func:`descriptor_plan` turns a list of RDKit descriptor names (``Descriptors._descList``) into
a function ``mol -> float64 vector`` that gives the values RDKit's own functions give, called in
the same order on the same molecule (tested to 1e-6 on real molecules in
``tests/chemistry/test_featurizer_speed.py``; bit for bit in practice), for about four fifths
of the CPU time (docs/featurizer.md):

- **EState**: the four EState indices each recompute the EState vector with an O(n^2) Python
  loop; here it is computed once, vectorised (the same sums in the same order, so the same
  bits), and left on the molecule for RDKit; ``EState_VSA*`` and ``VSA_EState*`` bin it
  vectorised.
- **Atom table**: one pass over the atoms gives ``NumValenceElectrons``,
  ``NumRadicalElectrons``, ``Chi0`` and ``Chi1`` (four Python loops in RDKit).
- **Graph**: ``Ipc`` and ``AvgIpc`` share one characteristic polynomial (RDKit computes it
  twice, O(n^4)); ``BalabanJ``'s double loop is vectorised.
- **qed**: on a molecule without H atoms, its properties are computed on the molecule itself
  rather than on RDKit's ``RemoveHs`` copy, so Crippen logP and TPSA are shared with ``MolLogP``
  and ``TPSA`` (about 40 % of qed's time).
- **Morgan densities**: ``FpDensityMorgan1-3`` reuse three fingerprint generators made once
  (RDKit makes a new generator on every call).

Every other descriptor is RDKit's function, called in list order, so the caches RDKit keeps on
the molecule (Gasteiger charges, Crippen contributions, ring info) fill and serve as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import numpy as np
from rdkit import Chem
from rdkit.Chem import (
    QED,
    Crippen,
    Descriptors,
    Graphs,
    MolSurf,
    rdFingerprintGenerator,
    rdMolDescriptors,
)
from rdkit.Chem.EState import EState_VSA
from rdkit.ML.InfoTheory import entropy

_TABLE = Chem.GetPeriodicTable()


# by atomic number: outer-shell electrons, and the principal quantum number as RDKit's EState
# module defines it (1 up to He, 2 up to Ne, ..., 7 from Fr on)
_OUTER = np.array([_TABLE.GetNOuterElecs(z) for z in range(119)], np.int64)
_PRINCIPAL = np.searchsorted(np.array([2, 10, 18, 36, 54, 86]), np.arange(119), "left") + 1


def _seqsum(values: np.ndarray) -> float:
    """Left-to-right sum (as Python's ``sum`` over a numpy array adds), 0.0 when empty."""
    return float(np.cumsum(values)[-1]) if len(values) else 0.0


class _Shared:
    """Intermediates of one molecule, each computed on first use."""

    def __init__(self, mol: Chem.Mol) -> None:
        self.mol = mol
        self._atoms: np.ndarray | None = None
        self._estate: np.ndarray | None = None
        self._cpoly: np.ndarray | None = None
        self._bonds: np.ndarray | None = None

    @property
    def atoms(self) -> np.ndarray:
        """(n, 5) int: atomic number, degree, total H count, formal charge, radical electrons."""
        if self._atoms is None:
            atoms = map(self.mol.GetAtomWithIdx, range(self.mol.GetNumAtoms()))
            rows = [
                (
                    a.GetAtomicNum(),
                    a.GetDegree(),
                    a.GetTotalNumHs(),
                    a.GetFormalCharge(),
                    a.GetNumRadicalElectrons(),
                )
                for a in atoms  # by index: GetAtoms() wraps each step in Python
            ]
            self._atoms = np.array(rows, np.int64).reshape(-1, 5)
        return self._atoms

    @property
    def bonds(self) -> np.ndarray:
        """(m, 2) int: begin and end atom of each bond, in bond order."""
        if self._bonds is None:
            bonds = map(self.mol.GetBondWithIdx, range(self.mol.GetNumBonds()))
            pairs = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in bonds]
            self._bonds = np.array(pairs, np.int64).reshape(-1, 2)
        return self._bonds

    @property
    def estate(self) -> np.ndarray:
        """RDKit's ``EStateIndices``, same values; stored where RDKit's EState-VSA reads it."""
        if self._estate is None:
            at = self.atoms
            z, d = at[:, 0], at[:, 1]
            n = _PRINCIPAL[z]
            dv = (_OUTER[z] - at[:, 2]).astype(np.float64)
            intrinsic = np.zeros(len(z), np.float64)
            ok = d > 0
            nn = (n * n)[ok].astype(np.float64)
            intrinsic[ok] = (4.0 / nn * dv[ok] + 1) / d[ok]
            p = Chem.GetDistanceMatrix(self.mol, useBO=False, useAtomWts=False) + 1
            with np.errstate(divide="ignore", invalid="ignore"):
                t = (intrinsic[:, None] - intrinsic[None, :]) / (p * p)
            t[p >= 1e6] = 0.0
            # RDKit adds row k's terms in ascending column order: a sequential sum does the same
            accum = np.cumsum(t, axis=1)[:, -1] if len(z) else np.zeros(0)
            self._estate = accum + intrinsic
            self.mol._eStateIndices = self._estate
        return self._estate

    def estate_vsa(self, attribute: str) -> np.ndarray:
        """RDKit's ``EState_VSA_`` (``"_eStateVSA"``: Labute ASA binned by EState) or
        ``VSA_EState_`` (``"_vsaEState"``: EState binned by Labute ASA), same values: the same
        bins, each filled in atom order; cached on the molecule where RDKit keeps them."""
        try:
            return getattr(self.mol, attribute)
        except AttributeError:
            pass
        estate = self.estate
        vol = np.asarray(MolSurf._LabuteHelper(self.mol)[1 : len(estate) + 1], np.float64)
        if attribute == "_eStateVSA":
            bins, key, add = _ESTATE_BINS, estate, vol
        else:
            bins, key, add = _VSA_BINS, vol, estate
        ans = np.zeros(len(bins) + 1, np.float64)
        np.add.at(ans, np.searchsorted(bins, key, side="right"), add)  # = bisect_right
        setattr(self.mol, attribute, ans)
        return ans

    @property
    def cpoly(self) -> np.ndarray:
        """|characteristic polynomial| of the adjacency matrix, as RDKit's ``Ipc`` computes it."""
        if self._cpoly is None:
            try:
                dmat = self.mol._adjMat
            except AttributeError:
                dmat = Chem.GetDistanceMatrix(self.mol, False)
                self.mol._adjMat = dmat
            self._cpoly = abs(Graphs.CharacteristicPolynomial(self.mol, np.equal(dmat, 1)))
        return self._cpoly


def _max_abs_estate(s: _Shared) -> float:
    return float(np.abs(s.estate).max())


def _min_abs_estate(s: _Shared) -> float:
    return float(np.abs(s.estate).min())


def _valence_electrons(s: _Shared) -> int:
    at = s.atoms
    return int((_OUTER[at[:, 0]] - at[:, 3] + at[:, 2]).sum())


def _chi0(s: _Shared) -> float:
    d = s.atoms[:, 1]
    return _seqsum(np.sqrt(1.0 / d[d != 0].astype(np.float64)))


def _chi1(s: _Shared) -> float:
    b = s.bonds
    deg = s.atoms[:, 1]
    c = deg[b[:, 0]] * deg[b[:, 1]]
    return _seqsum(np.sqrt(1.0 / c[c != 0].astype(np.float64)))


def _ipc(s: _Shared) -> float:
    c = s.cpoly
    return sum(c) * entropy.InfoEntropy(c)


def _avg_ipc(s: _Shared) -> float:
    return entropy.InfoEntropy(s.cpoly)


def _balaban_j(s: _Shared) -> float:
    mol = s.mol
    try:
        dmat = mol._balabanMat
    except AttributeError:
        dmat = Chem.GetDistanceMatrix(
            mol, useBO=True, useAtomWts=False, force=False, prefix="Balaban"
        )
        mol._balabanMat = dmat
    try:
        adj = mol._adjMat
    except AttributeError:
        adj = Chem.GetAdjacencyMatrix(mol, useBO=False, emptyVal=0, force=False, prefix="NoBO")
        mol._adjMat = adj
    s_ = sum(dmat)  # RDKit's _VertexDegrees: rows added in order
    q = mol.GetNumBonds()
    mu = q - mol.GetNumAtoms() + 1
    i, j = np.nonzero(np.triu(np.asarray(adj) == 1))  # row-major: RDKit's loop order
    total = _seqsum(1.0 / np.sqrt(s_[i] * s_[j]))
    return float(q) / float(mu + 1) * total if mu + 1 != 0 else 0


_STRICT = rdMolDescriptors.NumRotatableBondsOptions.Strict


def _qed(s: _Shared) -> float:
    """RDKit's ``qed``, whose properties it computes on ``RemoveHs(mol)``, a copy that keeps none
    of the molecule's caches. A molecule without H atoms is its own ``RemoveHs``: its properties
    are computed on it, so Crippen logP and TPSA are computed once for ``qed``, ``MolLogP`` and
    ``TPSA``, and the copy is saved. Else RDKit's function."""
    mol = s.mol
    if (s.atoms[:, 0] == 1).any():
        return QED.qed(mol)
    props = QED.QEDproperties(
        MW=rdMolDescriptors._CalcMolWt(mol),
        ALOGP=Crippen.MolLogP(mol),
        HBA=sum(len(mol.GetSubstructMatches(p)) for p in QED.Acceptors if mol.HasSubstructMatch(p)),
        HBD=rdMolDescriptors.CalcNumHBD(mol),
        PSA=MolSurf.TPSA(mol),
        ROTB=rdMolDescriptors.CalcNumRotatableBonds(mol, _STRICT),
        AROM=len(Chem.GetSSSR(Chem.DeleteSubstructs(Chem.Mol(mol), QED.AliphaticRings))),
        ALERTS=sum(1 for alert in QED.StructuralAlerts if mol.HasSubstructMatch(alert)),
    )
    return QED.qed(mol, qedProperties=props)


@cache
def _morgan(radius: int) -> Any:
    return rdFingerprintGenerator.GetMorganGenerator(radius)


def _fp_density(radius: int) -> Callable[[_Shared], float]:
    def density(s: _Shared) -> float:
        fp = _morgan(radius).GetSparseCountFingerprint(s.mol)
        setattr(s.mol, f"_getMorganCountFingerprint_({radius},)", fp)
        heavy = s.mol.GetNumHeavyAtoms()
        return float(len(fp.GetNonzeroElements())) / heavy if heavy else 0.0

    return density


_ESTATE_BINS = np.array(EState_VSA.estateBins, np.float64)
_VSA_BINS = np.array(EState_VSA.vsaBins, np.float64)


def _bin(attribute: str, k: int) -> Callable[[_Shared], float]:
    return lambda s: float(s.estate_vsa(attribute)[k])


FAST: dict[str, Callable[[_Shared], float]] = {
    **{f"EState_VSA{k + 1}": _bin("_eStateVSA", k) for k in range(len(EState_VSA.estateBins) + 1)},
    **{f"VSA_EState{k + 1}": _bin("_vsaEState", k) for k in range(len(EState_VSA.vsaBins) + 1)},
    "MaxEStateIndex": lambda s: float(s.estate.max()),
    "MinEStateIndex": lambda s: float(s.estate.min()),
    "MaxAbsEStateIndex": _max_abs_estate,
    "MinAbsEStateIndex": _min_abs_estate,
    "NumValenceElectrons": _valence_electrons,
    "NumRadicalElectrons": lambda s: int(s.atoms[:, 4].sum()),
    "Chi0": _chi0,
    "Chi1": _chi1,
    "qed": _qed,
    "Ipc": _ipc,
    "AvgIpc": _avg_ipc,
    "BalabanJ": _balaban_j,
    "FpDensityMorgan1": _fp_density(1),
    "FpDensityMorgan2": _fp_density(2),
    "FpDensityMorgan3": _fp_density(3),
}
"""Descriptors computed here from shared intermediates; the rest are RDKit's functions."""


@cache
def rdkit_descriptors() -> dict[str, Callable[[Chem.Mol], float]]:
    """RDKit's 2D descriptor functions by name, in RDKit's order."""
    return dict(Descriptors._descList)


def descriptor_plan(names: Sequence[str]) -> Callable[[Chem.Mol], np.ndarray]:
    """``mol -> float64 (len(names),)``: the named descriptors, as RDKit computes them."""
    table = rdkit_descriptors()
    unknown = [d for d in names if d not in table]
    if unknown:
        raise ValueError(f"unknown RDKit descriptors: {unknown}")
    steps: list[tuple[bool, Callable[[Any], float]]] = [
        (True, FAST[n]) if n in FAST else (False, table[n]) for n in names
    ]

    def compute(mol: Chem.Mol) -> np.ndarray:
        shared = _Shared(mol)
        return np.array([f(shared) if fast else f(mol) for fast, f in steps], np.float64)

    return compute


def timed_values(mol: Chem.Mol, names: Sequence[str]) -> tuple[list[float], list[float]]:
    """The named descriptors of ``mol`` as :func:`descriptor_plan` computes them, with each one's
    CPU time in seconds (for the benches: a shared intermediate is charged to its first user)."""
    import time

    table = rdkit_descriptors()
    shared = _Shared(mol)
    values, seconds = [], []
    for n in names:
        t0 = time.thread_time()
        values.append(FAST[n](shared) if n in FAST else table[n](mol))
        seconds.append(time.thread_time() - t0)
    return values, seconds
