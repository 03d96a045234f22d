"""Molecules as chemists send them: parsed, checked and standardised with RDKit.

``parse_molecule`` accepts SMILES, InChI or a molfile block (an SDF record) and returns a
:class:`Molecule` (the standardised RDKit molecule and what was done to it) or raises
:class:`~hub.errors.ItemError` with one of:

- ``empty_input``      nothing but white space
- ``invalid_input``    not a string
- ``invalid_smiles``   RDKit could not read it; the message gives RDKit's reason (syntax error
                       and position, unclosed ring, valence, kekulization)
- ``invalid_inchi``    RDKit could not read the InChI
- ``invalid_molfile``  RDKit could not read the molfile block
- ``too_large``        more heavy atoms than :data:`MAX_HEAVY_ATOMS`

Standardisation (RDKit MolStandardize): cleanup (normalise functional groups, reionise),
keep the largest organic fragment (salts and solvents stripped, reported in ``removed``),
neutralise charges where a neutral form exists, then canonical isomeric SMILES.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rdkit import Chem
from rdkit.Chem.MolStandardize import rdMolStandardize

from domains.chemistry.rdkit_log import rdkit_messages
from hub.errors import ItemError

MAX_HEAVY_ATOMS = 150
MAX_SMILES_CHARS = 2000


@dataclass
class Molecule:
    mol: Chem.Mol
    smiles: str  # canonical isomeric SMILES of the standardised molecule
    input: str
    removed: list[str] = field(default_factory=list)  # fragments stripped (salts, solvents)
    neutralized: bool = False

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"smiles": self.smiles}
        notes = []
        if self.removed:
            notes.append(f"removed fragments: {'.'.join(self.removed)}")
        if self.neutralized:
            notes.append("charges neutralised")
        if notes:
            out["standardization"] = notes
        return out


@lru_cache(maxsize=1)
def _tools() -> tuple[Any, Any, Any]:
    params = rdMolStandardize.CleanupParameters()
    chooser = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
    uncharger = rdMolStandardize.Uncharger(canonicalOrder=True)
    return params, chooser, uncharger


def _reason(messages: list[str], default: str) -> str:
    useful = [
        m.replace("SMILES Parse Error: ", "") for m in messages if "Failed parsing SMILES" not in m
    ]
    text = "; ".join(m.strip() for m in useful[:3] if m.strip())
    return text or default


def require_text(raw: Any, what: str, limit: int) -> str:
    """``raw`` stripped, or the typed error for a non-string, empty or over-long input."""
    if not isinstance(raw, str):
        raise ItemError(f"expected a {what} string, got {type(raw).__name__}", code="invalid_input")
    text = raw.strip()
    if not text:
        raise ItemError(f"empty input: no {what} given", code="empty_input")
    if len(text) > limit:
        raise ItemError(
            f"{what} is {len(text)} characters long; the limit is {limit}", code="too_large"
        )
    return text


def read_mol(text: str) -> Chem.Mol:
    """An RDKit molecule, sanitised, from SMILES or InChI; raises ItemError with RDKit's reason."""
    if isinstance(text, str) and ("M  END" in text or "\n" in text.strip()):
        return _read_molblock(text)
    text = require_text(text, "SMILES", MAX_SMILES_CHARS)
    with rdkit_messages() as messages:
        if text.startswith("InChI="):
            mol = Chem.MolFromInchi(text, sanitize=True, treatWarningAsError=False)
            if mol is None:
                raise ItemError(
                    f"invalid InChI: {_reason(messages, 'RDKit could not read it')}",
                    code="invalid_inchi",
                )
            return mol
        if " " in text or "\t" in text:
            text = text.split()[0]  # "CCO ethanol": a name after the SMILES, as in .smi files
        mol = Chem.MolFromSmiles(text, sanitize=False)
        if mol is None:
            raise ItemError(
                f"SMILES parse error: {_reason(messages, 'RDKit could not read it')}",
                code="invalid_smiles",
            )
        try:
            Chem.SanitizeMol(mol)
        except Chem.KekulizeException as exc:
            raise ItemError(
                f"kekulization error: {str(exc).strip()} (an aromatic ring that "
                "cannot be written with alternating bonds; check the aromatic atoms "
                "and [nH])",
                code="invalid_smiles",
            ) from exc
        except Chem.AtomValenceException as exc:
            raise ItemError(f"valence error: {str(exc).strip()}", code="invalid_smiles") from exc
        except Chem.MolSanitizeException as exc:
            raise ItemError(f"invalid molecule: {str(exc).strip()}", code="invalid_smiles") from exc
    if mol.GetNumAtoms() == 0:
        raise ItemError("empty molecule: the SMILES has no atoms", code="empty_input")
    return mol


def _read_molblock(text: str) -> Chem.Mol:
    if len(text) > 100 * MAX_SMILES_CHARS:
        raise ItemError("molfile block too long", code="too_large")
    with rdkit_messages() as messages:
        mol = Chem.MolFromMolBlock(text, sanitize=True, removeHs=True)
    if mol is None:
        raise ItemError(
            f"invalid molfile: {_reason(messages, 'RDKit could not read it')}",
            code="invalid_molfile",
        )
    if mol.GetNumAtoms() == 0:
        raise ItemError("empty molecule: the molfile has no atoms", code="empty_input")
    return mol


def standardize(mol: Chem.Mol, source: str = "") -> Molecule:
    """Cleanup, largest organic fragment, neutralisation; canonical SMILES of the result."""
    params, chooser, uncharger = _tools()
    with rdkit_messages():
        try:
            clean = rdMolStandardize.Cleanup(mol, params)
            frags = Chem.GetMolFrags(clean, asMols=True, sanitizeFrags=False)
            main = chooser.choose(clean) if len(frags) > 1 else clean
            removed: list[str] = []
            if len(frags) > 1:
                kept = Chem.MolToSmiles(main)
                removed = [s for s in (Chem.MolToSmiles(f) for f in frags) if s != kept]
            charged = any(a.GetFormalCharge() for a in main.GetAtoms())
            neutral = uncharger.uncharge(main) if charged else main
        except (ValueError, RuntimeError) as exc:
            raise ItemError(f"standardization failed: {exc}", code="invalid_smiles") from exc
    heavy = neutral.GetNumHeavyAtoms()
    if heavy > MAX_HEAVY_ATOMS:
        raise ItemError(
            f"molecule has {heavy} heavy atoms; the limit is {MAX_HEAVY_ATOMS}",
            code="too_large",
            heavy_atoms=heavy,
            limit=MAX_HEAVY_ATOMS,
        )
    smiles = Chem.MolToSmiles(neutral)
    neutralized = charged and smiles != Chem.MolToSmiles(main)
    return Molecule(neutral, smiles, source, removed, neutralized)


def parse_molecule(raw: Any) -> Molecule:
    """The ``smiles`` input type's parser: read, check, standardise."""
    mol = read_mol(raw)
    return standardize(mol, raw if isinstance(raw, str) else "")
