"""Forward product prediction with reaction templates: the ``reactants`` input type and the
``chemistry.reaction_templates`` model kind.

Given reactants (and optionally reagents), every template of the version's library is applied
with RDKit to every component (one-reactant templates) and every ordered pair of distinct
components (two-reactant templates); products are sanitised, canonicalised and de-duplicated,
and ranked by ``template prior + condition bonuses`` (:mod:`domains.chemistry.templates`).
Components containing a metal are catalysts, never reactants, except organometallic reagents
(carbon bound to Li, Mg, Zn or Sn: Grignard, organolithium, Negishi and Stille reagents). A
template whose required reagent is absent is never applied. No applicable template is an
answer: an empty candidate list with ``no_rule_applies: true``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field
from rdkit import Chem
from rdkit.Chem import rdChemReactions

from domains.chemistry.molecules import check_unicode, require_text
from domains.chemistry.reactions import (
    MAX_REACTION_CHARS,
    MAX_REACTION_HEAVY_ATOMS,
    Reaction,
    canonical_components,
    parse_reaction,
    split_components,
)
from domains.chemistry.templates import Condition, Template
from hub.sdk import (
    Budget,
    ItemError,
    LoadContext,
    ModelKind,
    Params,
    Version,
    each_item,
    parse_item,
)

METALS = frozenset(
    "Li Na K Rb Cs Mg Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Zr Mo Ru Rh Pd Ag Cd Sn Ir Pt Au Hg".split()
)
# Salts' counter-ions: spectators, not reactants.
SPECTATOR_METALS = frozenset("Li Na K Rb Cs Mg Ca".split())
# A carbon bound to one of these makes an organometallic reagent, a reactant.
ORGANOMETALLIC = Chem.MolFromSmarts("[#6]-[Li,Mg,Zn,Sn]")
CARBANION = Chem.MolFromSmarts("[#6-]")  # [CH3-] beside Li+: a reactant of one atom
MAX_EXHAUSTIVE = 32  # an exhaustive template is applied at most this many times in a row
MAX_COMPONENTS = 20
DEFAULT_TOP_K = 5


@dataclass
class ReactantSet:
    """Parsed input: canonical SMILES of reactants and agents (reagents, catalysts, solvents)
    and, when the input named one, the product it expects."""

    reactants: list[str]
    agents: list[str] = field(default_factory=list)
    given_products: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {"reactants": self.reactants, "agents": self.agents}


def _as_list(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ItemError(f"{what} must be a SMILES string or a list of them", code="invalid_reaction")


def _check_count(n: int) -> None:
    """Cost before work: at most :data:`MAX_COMPONENTS` components, counted before parsing."""
    if n > MAX_COMPONENTS:
        raise ItemError(
            f"{n} components; the limit is {MAX_COMPONENTS} (max_components)",
            code="too_large",
            limit="max_components",
            value=n,
            maximum=MAX_COMPONENTS,
        )


def parse_reactants(raw: Any) -> ReactantSet:
    """The ``reactants`` input type: ``"A.B"``, a reaction SMILES ``"A.B>reagents>"`` (a
    product side, if given, is not used for the prediction but its rank is reported), or
    ``{"reactants": [...], "reagents": [...]}``. Errors as :func:`parse_reaction`'s; more
    than :data:`MAX_COMPONENTS` reactants and reagents is ``too_large``, refused before any
    component is read."""
    if isinstance(raw, dict):
        for key in raw:
            if isinstance(key, str):
                check_unicode(key, "key")
        unknown = sorted(str(k) for k in set(raw) - {"reactants", "reagents"})
        if unknown:
            raise ItemError(
                f"unknown key(s) {unknown[:10]}; give 'reactants' and optionally 'reagents'",
                code="invalid_reaction",
            )
        given = _as_list(raw.get("reactants", []), "reactants")
        reagents = _as_list(raw.get("reagents", []), "reagents")
        for text in given + reagents:
            check_unicode(text, "reactant SMILES")
        total = sum(len(t) for t in given + reagents)
        if total > MAX_REACTION_CHARS:
            raise ItemError(
                f"the reactants and reagents are {total} characters long in all; the limit is "
                f"{MAX_REACTION_CHARS}",
                code="too_large",
            )
        _check_count(sum(len(split_components(t)) for t in given + reagents))
        budget = [MAX_REACTION_HEAVY_ATOMS]
        reactants = [c for t in given for c in canonical_components(t, "reactant", budget=budget)]
        agents = [c for t in reagents for c in canonical_components(t, "reagent", budget=budget)]
        out = ReactantSet(reactants, agents)
    else:
        text = require_text(raw, "reactant SMILES", MAX_REACTION_CHARS)
        if ">" in text:
            rxn = parse_reaction(text)
            out = ReactantSet(rxn.reactants, rxn.agents, rxn.products)
        else:
            _check_count(len(split_components(text)))
            budget = [MAX_REACTION_HEAVY_ATOMS]
            out = ReactantSet(canonical_components(text, "reactant", budget=budget))
    if not out.reactants:
        raise ItemError("no reactants given", code="empty_input")
    _check_count(len(out.reactants) + len(out.agents))
    return out


@dataclass(frozen=True)
class Candidate:
    smiles: str
    score: float  # softmax of the raw scores over this input's candidates
    raw_score: float
    rule: str
    reaction_class: str
    rules: tuple[str, ...]
    reactants: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "smiles": self.smiles,
            "score": round(self.score, 4),
            "rule": self.rule,
            "reaction_class": self.reaction_class,
            "rules": list(self.rules),
            "reactants": list(self.reactants),
        }


class _Compiled:
    def __init__(self, t: Template) -> None:
        self.t = t
        self.rxn = rdChemReactions.ReactionFromSmarts(t.smarts)
        self.rxn.Initialize()
        self.slots = [
            self.rxn.GetReactantTemplate(k) for k in range(self.rxn.GetNumReactantTemplates())
        ]


def _has_metal(mol: Chem.Mol, metals: frozenset[str]) -> bool:
    return any(a.GetSymbol() in metals for a in mol.GetAtoms())


def _is_catalyst(mol: Chem.Mol) -> bool:
    """A component with a metal that is not an organometallic reagent (Pd, Cu, Fe, ...)."""
    return _has_metal(mol, METALS - SPECTATOR_METALS) and not mol.HasSubstructMatch(ORGANOMETALLIC)


def needs_met(needs: Sequence[str], present: set[str]) -> bool:
    """Whether one of ``needs`` is met: each a condition or conditions joined by ``+``."""
    return any(all(part in present for part in need.split("+")) for need in needs)


def _products(
    rxn: rdChemReactions.ChemicalReaction, mols: tuple[Chem.Mol, ...], limit: int = 1000
) -> list[str]:
    """The distinct sanitised main products of one application of ``rxn`` (at most ``limit``
    matches tried)."""
    out: list[str] = []
    for prods in rxn.RunReactants(mols, limit):
        mol = prods[0]
        try:
            Chem.SanitizeMol(mol)
            smi = Chem.MolToSmiles(mol)
        except Exception:  # noqa: BLE001 - a product RDKit cannot sanitise is no product
            continue
        if Chem.MolFromSmiles(smi) is not None and smi not in out:
            out.append(smi)
    return out


class TemplateLibrary:
    """Compiled templates and conditions; :meth:`propose` ranks the products of one input.
    Per-component template matches are cached: HTE plates repeat their components."""

    def __init__(self, templates: Sequence[Template], conditions: Sequence[Condition]) -> None:
        self.templates = [_Compiled(t) for t in templates]
        self.conditions = [(c, [Chem.MolFromSmarts(s) for s in c.smarts]) for c in conditions]
        self._mols: dict[str, Chem.Mol] = {}
        self._slot_hits: dict[str, list[list[bool]]] = {}
        self._products: dict[tuple[int, tuple[str, ...]], list[str]] = {}

    @classmethod
    def from_json(cls, data: bytes) -> TemplateLibrary:
        doc = json.loads(data)
        return cls(
            [Template.from_dict(t) for t in doc["templates"]],
            [Condition(c["name"], tuple(c["smarts"]), c["exact"]) for c in doc["conditions"]],
        )

    def _mol(self, smiles: str) -> Chem.Mol:
        if (mol := self._mols.get(smiles)) is None:
            mol = Chem.MolFromSmiles(smiles)
            if len(self._mols) > 50_000:
                self._mols.clear(), self._slot_hits.clear(), self._products.clear()
            self._mols[smiles] = mol
        return mol

    def _hits(self, smiles: str) -> list[list[bool]]:
        if (hits := self._slot_hits.get(smiles)) is None:
            mol = self._mol(smiles)
            hits = [[mol.HasSubstructMatch(s) for s in c.slots] for c in self.templates]
            self._slot_hits[smiles] = hits
        return hits

    def conditions_present(self, components: Sequence[str]) -> list[str]:
        present = []
        for cond, patterns in self.conditions:
            for smi in components:
                mol = self._mol(smi)
                heavy = mol.GetNumAtoms()
                if any(
                    mol.HasSubstructMatch(p) and (not cond.exact or heavy == p.GetNumAtoms())
                    for p in patterns
                ):
                    present.append(cond.name)
                    break
        return present

    def _run(self, k: int, combo: tuple[str, ...]) -> list[str]:
        key = (k, combo)
        if (done := self._products.get(key)) is not None:
            return done
        compiled = self.templates[k]
        out = _products(compiled.rxn, tuple(self._mol(s) for s in combo))
        if compiled.t.exhaustive and len(combo) == 1 and out:
            # every site: apply again to one product until nothing matches (one path, not
            # every order: n sites cost n applications, not 2**n intermediates)
            for _ in range(MAX_EXHAUSTIVE):
                again = _products(compiled.rxn, (Chem.MolFromSmiles(out[0]),), 4)
                if not again:
                    break
                out = again[:1]
            out = out[:1]
        if compiled.t.then and len(combo) == 2:
            # the product reacts again with the same first reactant (a Grignard reagent's
            # second addition to the ketone made from an ester)
            follow = [
                c for c in self.templates if c.t.name == compiled.t.then and c is not compiled
            ]
            mols = [(Chem.MolFromSmiles(smi), smi) for smi in out]
            out = list(
                dict.fromkeys(
                    p
                    for mol, smi in mols
                    for p in (
                        [q for c in follow for q in _products(c.rxn, (self._mol(combo[0]), mol))]
                        or [smi]
                    )
                )
            )
        self._products[key] = out
        return out

    def propose(self, rs: ReactantSet, top_k: int = DEFAULT_TOP_K) -> dict[str, Any]:
        """Ranked candidates for one input, as the model's output dict (without unit)."""
        components = list(dict.fromkeys(rs.reactants + rs.agents))
        present = set(self.conditions_present(components))
        usable = [
            s
            for s in dict.fromkeys(rs.reactants)
            if not _is_catalyst(self._mol(s))
            and (self._mol(s).GetNumHeavyAtoms() > 1 or self._mol(s).HasSubstructMatch(CARBANION))
        ]
        best: dict[str, tuple[float, Template, list[str], tuple[str, ...]]] = {}
        for k, c in enumerate(self.templates):
            t = c.t
            score = t.prior + sum(b for name, b in t.context.items() if name in present)
            if t.needs and not needs_met(t.needs, present):
                if t.required:
                    continue
                score += t.missing
            if len(c.slots) == 1:
                combos = [(s,) for s in usable if self._hits(s)[k][0]]
            else:
                firsts = [s for s in usable if self._hits(s)[k][0]]
                seconds = [s for s in usable if self._hits(s)[k][1]]
                combos = [(a, b) for a in firsts for b in seconds if a != b]
            for combo in combos:
                for smi in self._run(k, combo):
                    if smi in combo:
                        continue
                    if smi not in best or score > best[smi][0]:
                        rules = best[smi][2] if smi in best else []
                        best[smi] = (score, t, rules, combo)
                    if t.name not in best[smi][2]:
                        best[smi][2].append(t.name)
        # equal scores: the larger product first (the main product, not a by-product)
        ranked = sorted(
            best.items(), key=lambda kv: (-kv[1][0], -self._mol(kv[0]).GetNumHeavyAtoms(), kv[0])
        )
        total = sum(math.exp(v[0]) for _, v in ranked)
        cands = [
            Candidate(smi, math.exp(score) / total, score, t.name, t.reaction_class,
                      tuple(rules), combo)
            for smi, (score, t, rules, combo) in ranked[:top_k]
        ]  # fmt: skip
        out: dict[str, Any] = {
            "value": cands[0].smiles if cands else None,
            "candidates": [c.to_dict() for c in cands],
            "no_rule_applies": not cands,
            "conditions": sorted(present),
        }
        if rs.given_products:
            ranks = [i + 1 for i, (smi, _) in enumerate(ranked) if smi in rs.given_products]
            out["given_product_rank"] = ranks[0] if ranks else None
        return out


class TemplateParams(Params):
    top_k: int = Field(
        DEFAULT_TOP_K, ge=1, le=50, description="how many ranked products to return per input"
    )


class TemplatePredictor:
    """A loaded ``chemistry.reaction_templates`` version (templates read from its verified
    ``templates`` artifact)."""

    def __init__(self, version: Version, ctx: LoadContext) -> None:
        self.version = version
        self.library = TemplateLibrary.from_json(ctx.read_artifact(version.artifacts["templates"]))
        self.input_type = ctx.plugins.input_type(version.spec["input_type"])
        self.max_chars = ctx.max_input_chars

    def predict(
        self, inputs: Sequence[Any], params: Mapping[str, Any], *, budget: Budget | None = None
    ) -> list[dict[str, Any]]:
        """Ranked products of each input (``params`` checked against :class:`TemplateParams`
        by the runtime)."""
        top_k = int(params.get("top_k", DEFAULT_TOP_K))

        def propose(_: int, raw: Any) -> dict[str, Any]:
            rs = parse_item(self.input_type.parse, raw, self.max_chars)
            return {**self.library.propose(rs, top_k), "unit": "SMILES", **rs.describe()}

        return each_item(inputs, propose, budget)


def depict_reactants(rs: ReactantSet) -> str:
    """SVG of the reactants with the reagents over the arrow (no product drawn)."""
    from domains.chemistry.depict import depict_reaction

    return depict_reaction(Reaction(rs.reactants, rs.agents, []))


TEMPLATE_KIND = ModelKind(
    name="chemistry.reaction_templates", load=TemplatePredictor, params=TemplateParams
)
