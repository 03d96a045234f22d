"""Reactions as chemists write them: reaction SMILES or components by role.

``parse_reaction`` accepts ``reactants>agents>products`` (agents may be empty: ``A.B>>P``;
DreherDoyle-style files list every component before ``>>``), or a JSON object of components
by role (``{"aryl_halide": ..., "amine": ..., "ligand": ..., "base": ..., "additive": ...}``).
It returns a :class:`Reaction` of canonical component SMILES, or raises
:class:`~hub.errors.ItemError`:

- ``invalid_reaction``    no ``>``, the wrong number of ``>``, an empty reactant side,
                          unbalanced brackets or parentheses, an unknown role, a role that is
                          not a string
- ``invalid_smiles``      one component RDKit cannot read (named, with RDKit's reason; any
                          character outside printable ASCII too), or one whose canonical
                          SMILES RDKit cannot read back
- ``invalid_inchi``       a component given as InChI that RDKit cannot read
- ``invalid_input``       text that is not valid Unicode (a lone surrogate)
- ``too_large``           over :data:`MAX_REACTION_CHARS` characters (all roles together)
- ``too_many_fragments``  more than :data:`MAX_REACTION_COMPONENTS` components, counted
                          before any is parsed
- ``too_many_atoms``      a component over the molecule limit of
                          :mod:`domains.chemistry.molecules`, or more than
                          :data:`MAX_REACTION_HEAVY_ATOMS` heavy atoms in all components
- ``empty_input``         nothing given

A role may be given as SMILES or InChI; roles are canonicalised from the parsed molecules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rdkit import Chem

from domains.chemistry.molecules import check_unicode, read_mol, require_text
from hub.sdk import ItemError

MAX_REACTION_CHARS = 10_000
MAX_REACTION_COMPONENTS = 50  # all sides together (the yield data sets: at most 15)
MAX_REACTION_HEAVY_ATOMS = 1000  # all components together (the yield data sets: at most 128)
LIMITS = {
    "max_reaction_chars": MAX_REACTION_CHARS,
    "max_components": MAX_REACTION_COMPONENTS,
    "max_heavy_atoms": MAX_REACTION_HEAVY_ATOMS,
}  # shown on the cards (InputType.limits)
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


def canonical_components(part: str, where: str, *, budget: list[int] | None = None) -> list[str]:
    """Canonical SMILES of each dot-separated component of ``part`` (SMILES or InChI), read and
    checked by :func:`~domains.chemistry.molecules.read_mol`; ``where`` names the side or role
    in errors. ``budget``, a one-element list of heavy atoms still allowed, is spent as the
    components are read (cost before work across the sides of one reaction)."""
    frags = split_components(part)
    out = []
    for frag in frags:
        try:
            mol = read_mol(frag)
            smiles = Chem.MolToSmiles(mol)
            if Chem.MolFromSmiles(smiles) is None:  # RDKit's rare non-round-tripping SMILES
                raise ItemError(
                    f"RDKit cannot read back its canonical SMILES {smiles[:80]!r}",
                    code="invalid_smiles",
                )
        except ItemError as exc:
            raise ItemError(
                f"{where} component {frag[:80]!r}: {exc.message}", code=exc.code, **exc.detail
            ) from exc
        if budget is not None:
            budget[0] -= mol.GetNumHeavyAtoms()
            if budget[0] < 0:
                raise ItemError(
                    f"more than {MAX_REACTION_HEAVY_ATOMS} heavy atoms in the reaction's "
                    f"components; the limit is {MAX_REACTION_HEAVY_ATOMS} "
                    "(max_reaction_heavy_atoms)",
                    code="too_many_atoms",
                    limit="max_reaction_heavy_atoms",
                    maximum=MAX_REACTION_HEAVY_ATOMS,
                )
        out.extend(smiles.split("."))  # an InChI may hold several molecules: one each
    return out


def split_components(part: str) -> list[str]:
    """The non-empty dot-separated components of ``part`` (a component given as InChI keeps
    its dots), without reading any."""
    if part.lstrip().startswith("InChI="):
        return [part]
    return [p for p in part.split(".") if p.strip()]


def check_component_count(n: int) -> None:
    """Cost before work: refuse more than :data:`MAX_REACTION_COMPONENTS` components."""
    if n > MAX_REACTION_COMPONENTS:
        raise ItemError(
            f"{n} components; the limit is {MAX_REACTION_COMPONENTS} (max_reaction_components)",
            code="too_many_fragments",
            limit="max_reaction_components",
            value=n,
            maximum=MAX_REACTION_COMPONENTS,
        )


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
        return _parse_roles(raw)
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
    check_component_count(sum(len(split_components(p)) for p in parts))
    budget = [MAX_REACTION_HEAVY_ATOMS]
    return Reaction(
        canonical_components(left, "reactant", budget=budget),
        canonical_components(mid, "agent", budget=budget),
        canonical_components(right, "product", budget=budget),
    )


def _parse_roles(raw: dict[Any, Any]) -> Reaction:
    """Components by role: each role's value is read on its own (SMILES or InChI), and the
    role is recorded as the canonical SMILES of what was read."""
    for key in raw:
        if isinstance(key, str):
            check_unicode(key, "role name")
    unknown = sorted(str(k) for k in set(raw) - set(ROLES) - {"product"})
    if unknown:
        raise ItemError(
            f"unknown role(s) {unknown[:10]}; roles: {', '.join(ROLES)}", code="invalid_reaction"
        )
    if not raw:
        raise ItemError("no components given", code="empty_input")
    if not all(isinstance(v, str) for v in raw.values()):
        raise ItemError("each role takes one SMILES string", code="invalid_reaction")
    for value in raw.values():
        check_unicode(value, "reaction component")
    total = sum(len(v) for v in raw.values())
    if total > MAX_REACTION_CHARS:
        raise ItemError(
            f"the roles are {total} characters long in all; the limit is {MAX_REACTION_CHARS}",
            code="too_large",
        )
    check_component_count(sum(len(split_components(v)) for v in raw.values()))
    budget = [MAX_REACTION_HEAVY_ATOMS]
    roles: dict[str, str] = {}
    comps: list[str] = []
    for role, value in raw.items():
        if role == "product":
            continue
        parts = canonical_components(value, role, budget=budget)
        roles[role] = ".".join(parts)
        comps.extend(parts)
    if not comps:
        raise ItemError("no reactant components given (every role is empty)", code="empty_input")
    products = canonical_components(raw.get("product", ""), "product", budget=budget)
    return Reaction(comps, [], products, roles)
