"""Molecules as chemists send them: parsed, checked and standardised with RDKit.

``parse_molecule`` accepts SMILES, InChI or a molfile block (an SDF record) and returns a
:class:`Molecule` (the standardised RDKit molecule and what was done to it) or raises
:class:`~hub.errors.ItemError` with one of:

- ``empty_input``         nothing but white space
- ``invalid_input``       not a string, or text that is not valid Unicode (a lone UTF-16
                          surrogate such as ``"\\udfff"``)
- ``invalid_smiles``      RDKit could not read it; the message gives RDKit's reason (syntax
                          error and position, unclosed ring, valence, kekulization). Also any
                          character outside printable ASCII: SMILES is ASCII, and RDKit would
                          silently drop a trailing ``"中"`` or control character and answer for
                          the rest (``"CCO中"`` is not ethanol). And a query bond ``~``
                          (any bond), on which no descriptor can be computed (the
                          ``reaction_smiles`` type accepts it in catalysts, as its data does)
- ``invalid_inchi``       RDKit could not read the InChI (InChI is ASCII too)
- ``invalid_molfile``     RDKit could not read the molfile block
- ``too_large``           over :data:`MAX_SMILES_CHARS` characters
- ``too_many_atoms``      cost before work: more than :data:`MAX_INPUT_HEAVY_ATOMS` heavy atoms
                          in the whole input (counted on the syntax alone, before RDKit
                          sanitises or standardises anything), or more than
                          :data:`MAX_HEAVY_ATOMS` in the molecule kept after standardisation
- ``too_many_fragments``  cost before work: more than :data:`MAX_FRAGMENTS` dot-separated
                          fragments (standardisation costs grow with their square)

Errors of ``too_many_atoms`` and ``too_many_fragments`` name the limit in their ``detail``
(``limit``, ``value``, ``maximum``), as the physics models' limits do.

Standardisation (RDKit MolStandardize): cleanup (normalise functional groups, reionise),
keep the largest organic fragment (salts and solvents stripped, reported in ``removed``),
neutralise charges where a neutral form exists, then canonical isomeric SMILES.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rdkit import Chem
from rdkit.Chem.MolStandardize import rdMolStandardize

from domains.chemistry.rdkit_log import rdkit_messages
from hub.sdk import ItemError

MAX_HEAVY_ATOMS = 150  # in the molecule kept after standardisation (ESOL, Lipo: at most 115)
MAX_INPUT_HEAVY_ATOMS = 300  # in one input, salts and solvents included, before standardising
MAX_FRAGMENTS = 20  # dot-separated fragments in one input (the data sets: at most 4)
MAX_SMILES_CHARS = 2000
# what every ``smiles`` input is checked against (shown on the cards: InputType.limits)
LIMITS = {
    "max_smiles_chars": MAX_SMILES_CHARS,
    "max_input_heavy_atoms": MAX_INPUT_HEAVY_ATOMS,
    "max_fragments": MAX_FRAGMENTS,
    "max_heavy_atoms": MAX_HEAVY_ATOMS,
}
# Printable ASCII without the space: the characters a SMILES or an InChI is written with.
_NOT_SMILES_CHAR = re.compile(r"[^\x21-\x7e]")


@dataclass
class Molecule:
    mol: Chem.Mol
    smiles: str  # canonical isomeric SMILES of the standardised molecule
    input: str
    removed: list[str] = field(default_factory=list)  # fragments stripped (salts, solvents)
    neutralized: bool = False

    def key(self) -> str:
        """The molecule's identity in a training table: its standardised canonical SMILES."""
        return self.smiles

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
    """``raw`` stripped, or the typed error for a non-string, non-Unicode, empty or over-long
    input."""
    if not isinstance(raw, str):
        raise ItemError(f"expected a {what} string, got {type(raw).__name__}", code="invalid_input")
    check_unicode(raw, what)
    text = raw.strip()
    if not text:
        raise ItemError(f"empty input: no {what} given", code="empty_input")
    if len(text) > limit:
        raise ItemError(
            f"{what} is {len(text)} characters long; the limit is {limit}", code="too_large"
        )
    return text


def check_unicode(text: str, what: str) -> None:
    """Raise ``invalid_input`` for text that cannot be encoded as UTF-8 (a lone surrogate,
    which JSON's ``\\udfff`` escapes can carry): RDKit and every log would fail on it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ItemError(
            f"the {what} is not valid Unicode: a lone surrogate {text[exc.start]!a} at "
            f"position {exc.start}",
            code="invalid_input",
        ) from None


def require_ascii(text: str, what: str, code: str) -> None:
    """Raise ``code`` when ``text`` has a character outside printable ASCII: a SMILES or an
    InChI has none, and RDKit silently drops some of them (``"CCO中"`` would be read as
    ethanol, ``"\\x00CCO"`` too)."""
    if (bad := _NOT_SMILES_CHAR.search(text)) is not None:
        ch = bad.group()
        shown = repr(ch) if ch.isprintable() else ascii(ch)
        raise ItemError(
            f"{what} has the character {shown} (U+{ord(ch):04X}) at position {bad.start()}; "
            f"a {what} is written in printable ASCII only",
            code=code,
            position=bad.start(),
        )


def _over(code: str, limit: str, value: int, maximum: int, what: str) -> ItemError:
    return ItemError(
        f"{value} {what}; the limit is {maximum} ({limit})",
        code=code,
        limit=limit,
        value=value,
        maximum=maximum,
    )


def _check_size(mol: Chem.Mol) -> None:
    """Cost before work, on an unsanitised molecule (atoms and bonds read, nothing computed):
    heavy atoms and fragments of the whole input."""
    heavy = sum(1 for a in mol.GetAtoms() if a.GetAtomicNum() != 1)
    if heavy > MAX_INPUT_HEAVY_ATOMS:
        raise _over(
            "too_many_atoms",
            "max_input_heavy_atoms",
            heavy,
            MAX_INPUT_HEAVY_ATOMS,
            "heavy atoms in the input (salts and solvents included)",
        )
    fragments = len(Chem.GetMolFrags(mol, sanitizeFrags=False))
    if fragments > MAX_FRAGMENTS:
        raise _over(
            "too_many_fragments",
            "max_fragments",
            fragments,
            MAX_FRAGMENTS,
            "fragments in the input (give each molecule as its own input)",
        )


def read_mol(text: str) -> Chem.Mol:
    """An RDKit molecule, sanitised, from SMILES or InChI; raises ItemError with RDKit's reason."""
    if isinstance(text, str) and ("M  END" in text or "\n" in text.strip()):
        return _read_molblock(text)
    text = require_text(text, "SMILES", MAX_SMILES_CHARS)
    if text.startswith("InChI="):
        require_ascii(text, "InChI", "invalid_inchi")
        with rdkit_messages() as messages:
            try:
                mol = Chem.MolFromInchi(text, sanitize=True, treatWarningAsError=False)
            except (RuntimeError, SystemError, ValueError) as exc:
                raise ItemError(
                    f"invalid InChI: {_rdkit_failure(exc)}", code="invalid_inchi"
                ) from exc
            if mol is None:
                raise ItemError(
                    f"invalid InChI: {_reason(messages, 'RDKit could not read it')}",
                    code="invalid_inchi",
                )
        _check_size(mol)
        return _nonempty(mol, "InChI")
    if " " in text or "\t" in text:
        # "CCO ethanol": a name after the SMILES, as in .smi files (ASCII blanks only)
        text = re.split(r"[ \t]", text, maxsplit=1)[0]
    require_ascii(text, "SMILES", "invalid_smiles")
    with rdkit_messages() as messages:
        try:
            mol = Chem.MolFromSmiles(text, sanitize=False)
        except (RuntimeError, SystemError, ValueError) as exc:
            raise ItemError(
                f"SMILES parse error: {_rdkit_failure(exc)}", code="invalid_smiles"
            ) from exc
        if mol is None:
            raise ItemError(
                f"SMILES parse error: {_reason(messages, 'RDKit could not read it')}",
                code="invalid_smiles",
            )
        _check_size(mol)
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
        except (RuntimeError, SystemError, ValueError) as exc:
            raise ItemError(
                f"invalid molecule: {_unsanitizable(mol, exc)}", code="invalid_smiles"
            ) from exc
    return _nonempty(mol, "SMILES")


def _nonempty(mol: Chem.Mol, what: str) -> Chem.Mol:
    if mol.GetNumAtoms() == 0:
        raise ItemError(f"empty molecule: the {what} has no atoms", code="empty_input")
    return mol


def _rdkit_failure(exc: BaseException) -> str:
    """A one-line reason for an exception RDKit raised instead of reporting (an invariant
    violation, or its log bridge failing on a message): never a traceback."""
    first = str(exc).strip().splitlines()[:2]
    return f"RDKit could not process it ({type(exc).__name__}: {' '.join(first)[:160]})"


def _unsanitizable(mol: Chem.Mol, exc: BaseException) -> str:
    most = max((a.GetDegree() for a in mol.GetAtoms()), default=0)
    if most >= 128:  # RDKit's valence code breaks an invariant here instead of reporting
        return f"an atom has {most} neighbours; RDKit handles fewer than 128"
    return _rdkit_failure(exc)


def _read_molblock(text: str) -> Chem.Mol:
    if len(text) > 100 * MAX_SMILES_CHARS:
        raise ItemError(
            f"molfile block is {len(text)} characters long; the limit is {100 * MAX_SMILES_CHARS}",
            code="too_large",
        )
    check_unicode(text, "molfile block")
    lines = text.split("\n")
    # The three header lines (name, program, comment) are free text; the rest is ASCII.
    require_ascii("".join(lines[3:]).replace(" ", "").replace("\t", "").replace("\r", ""),
                  "molfile block (after its 3 header lines)", "invalid_molfile")  # fmt: skip
    with rdkit_messages() as messages:
        try:
            mol = Chem.MolFromMolBlock(text, sanitize=False, removeHs=False)
            if mol is not None:
                _check_size(mol)
                Chem.SanitizeMol(mol)
                mol = Chem.RemoveHs(mol)
        except ItemError:
            raise
        except Chem.MolSanitizeException as exc:
            raise ItemError(f"invalid molfile: {str(exc).strip()}", code="invalid_molfile") from exc
        except (RuntimeError, SystemError, ValueError) as exc:
            raise ItemError(
                f"invalid molfile: {_rdkit_failure(exc)}", code="invalid_molfile"
            ) from exc
        if mol is None:
            raise ItemError(
                f"invalid molfile: {_reason(messages, 'RDKit could not read it')}",
                code="invalid_molfile",
            )
    return _nonempty(mol, "molfile")


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
        except (ValueError, RuntimeError, SystemError) as exc:
            raise ItemError(
                f"standardization failed: {_rdkit_failure(exc)}", code="invalid_smiles"
            ) from exc
    heavy = neutral.GetNumHeavyAtoms()
    if heavy > MAX_HEAVY_ATOMS:
        raise _over(
            "too_many_atoms",
            "max_heavy_atoms",
            heavy,
            MAX_HEAVY_ATOMS,
            "heavy atoms in the molecule (after salts and solvents were stripped)",
        )
    smiles = Chem.MolToSmiles(neutral)
    neutralized = charged and smiles != Chem.MolToSmiles(main)
    return Molecule(neutral, smiles, source, removed, neutralized)


def parse_molecule(raw: Any) -> Molecule:
    """The ``smiles`` input type's parser: read, check, standardise."""
    mol = read_mol(raw)
    _refuse_query_bonds(mol)
    return standardize(mol, raw if isinstance(raw, str) else "")


def _refuse_query_bonds(mol: Chem.Mol) -> None:
    """A molecule for a property model has real bonds: SMILES's ``~`` (any bond) is a query,
    which RDKit reads but which no descriptor can be computed on. (Reactions keep it: the
    Suzuki-Miyaura data writes catalysts as ``CC(=O)O~[Pd]``.)"""
    for bond in mol.GetBonds():
        if bond.HasQuery() or bond.GetBondType() in _NOT_REAL_BONDS:
            a, b = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
            raise ItemError(
                f"the bond between atoms {a} and {b} is a query ('~', any bond), not a bond a "
                "molecule can have; write it as -, =, # or aromatic",
                code="invalid_smiles",
            )


_NOT_REAL_BONDS = frozenset({Chem.BondType.UNSPECIFIED, Chem.BondType.OTHER})
