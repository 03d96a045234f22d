"""Reactions as chemists write them: reaction SMILES or components by role.

``parse_reaction`` accepts ``reactants>agents>products`` (agents may be empty: ``A.B>>P``;
DreherDoyle-style files list every component before ``>>``), or a JSON object of components
by role (``{"aryl_halide": ..., "amine": ..., "ligand": ..., "base": ..., "additive": ...}``).
It returns a :class:`Reaction` of canonical component SMILES, or raises
:class:`~hub.errors.ItemError`:

- ``invalid_reaction``  no ``>``, the wrong number of ``>``, an empty reactant side, unbalanced
                        brackets or parentheses, an unknown role
- ``invalid_smiles``    one component RDKit cannot read (named, with RDKit's reason)
- ``too_large``         over :data:`MAX_REACTION_CHARS` characters
- ``empty_input``       nothing given
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rdkit import Chem

from domains.chemistry.molecules import read_mol, require_text
from hub.errors import ItemError

MAX_REACTION_CHARS = 10_000
ROLES = (
    "aryl_halide",
    "amine",
    "boronic_acid",
    "reactant",
    "ligand",
    "catalyst",
    "base",
    "additive",
    "solvent",
    "reagent",
)


@dataclass
class Reaction:
    reactants: list[str]  # canonical SMILES of each component left of the last '>'
    agents: list[str]
    products: list[str]
    roles: dict[str, str] = field(default_factory=dict)

    @property
    def components(self) -> list[str]:
        """Every component on the left (reactants and agents), sorted, de-duplicated."""
        return sorted(set(self.reactants) | set(self.agents))

    @property
    def mols(self) -> list[Chem.Mol]:
        return [Chem.MolFromSmiles(s) for s in self.components]

    def smiles(self) -> str:
        return f"{'.'.join(self.reactants)}>{'.'.join(self.agents)}>{'.'.join(self.products)}"

    def describe(self) -> dict[str, Any]:
        return {"reaction": self.smiles()}


def canonical_components(part: str, where: str) -> list[str]:
    out = []
    for frag in (p for p in part.split(".") if p):
        try:
            mol = read_mol(frag)
        except ItemError as exc:
            raise ItemError(
                f"{where} component {frag[:80]!r}: {exc.message}", code=exc.code
            ) from exc
        out.append(Chem.MolToSmiles(mol))
    return out


def _check_balanced(text: str) -> None:
    for open_, close in ("()", "[]"):
        depth = 0
        for ch in text:
            depth += (ch == open_) - (ch == close)
            if depth < 0:
                break
        if depth != 0:
            raise ItemError(
                f"unbalanced {open_}{close} in the reaction SMILES", code="invalid_reaction"
            )


def parse_reaction(raw: Any) -> Reaction:
    """The ``reaction_smiles`` input type's parser (see the module docstring)."""
    if isinstance(raw, dict):
        unknown = sorted(set(raw) - set(ROLES) - {"product"})
        if unknown:
            raise ItemError(
                f"unknown role(s) {unknown}; roles: {', '.join(ROLES)}", code="invalid_reaction"
            )
        if not raw:
            raise ItemError("no components given", code="empty_input")
        roles = {k: v for k, v in raw.items() if k != "product"}
        if not all(isinstance(v, str) for v in raw.values()):
            raise ItemError("each role takes one SMILES string", code="invalid_reaction")
        comps = canonical_components(".".join(roles.values()), "reactant")
        products = canonical_components(raw.get("product", ""), "product")
        return Reaction(comps, [], products, {k: Chem.CanonSmiles(v) for k, v in roles.items()})
    text = require_text(raw, "reaction SMILES", MAX_REACTION_CHARS)
    parts = text.split(">")
    if len(parts) != 3:
        raise ItemError(
            "a reaction SMILES needs 'reactants>agents>products' or 'reactants>>products'",
            code="invalid_reaction",
        )
    _check_balanced(text)
    left, mid, right = parts
    if not left.strip():
        raise ItemError("the reactant side is empty", code="invalid_reaction")
    return Reaction(
        canonical_components(left, "reactant"),
        canonical_components(mid, "agent"),
        canonical_components(right, "product"),
    )
