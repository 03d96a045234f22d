"""Featurizers and applicability domain for reactions.

``chemistry.reaction_bag(radius, n_bits, roles, role_bits)``: the sum of the Morgan count
fingerprints of every component left of ``>>`` (reactants, catalyst, ligand, base, additive,
solvent), then ``log1p``. For high-throughput data sets, where a reaction is a choice of one
molecule per role, this encodes the choice and the chemistry of each choice. With ``roles``
(a list of lists of canonical SMILES, one list per role, e.g. the training set's ligands), the
vector is instead one block of ``role_bits`` per role, each the summed counts of the
components of that role, and a last block for the components in no list (a reagent common to
every reaction, or one never seen), so a substructure says which role it came from; a
component in several lists counts for the first.

``chemistry.components_seen``: ``in_domain`` is true when every component was seen in
training and the reaction has as many components as training reactions had (a reaction given
without its ligand or base is out of domain); the response names unseen components.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from rdkit.Chem import rdFingerprintGenerator

from domains.chemistry.reactions import Reaction
from hub.sdk import Annotator, Featurizer


def reaction_bag(
    radius: int = 2,
    n_bits: int = 4096,
    roles: list[list[str]] | None = None,
    role_bits: int = 1024,
) -> Callable[[Reaction], np.ndarray]:
    width = n_bits if not roles else role_bits
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=width)
    cache: dict[str, np.ndarray] = {}  # HTE sets reuse a few dozen molecules
    slot: dict[str, int] = {}
    for k, members in enumerate(roles or []):
        for smi in members:
            slot.setdefault(smi, k)
    blocks = len(roles) + 1 if roles else 1

    def featurize(rxn: Reaction) -> np.ndarray:
        total = np.zeros(blocks * width, np.float32)
        for smi, mol in zip(rxn.components, rxn.mols, strict=True):
            fp = cache.get(smi)
            if fp is None:
                fp = gen.GetCountFingerprintAsNumPy(mol).astype(np.float32)
                if len(cache) < 100_000:
                    cache[smi] = fp
            k = slot.get(smi, blocks - 1)
            total[k * width : (k + 1) * width] += fp
        return np.log1p(total)

    return featurize


def components_seen(
    artifacts: dict[str, bytes], min_components: int = 1, max_components: int = 1000
) -> Callable[[Reaction], dict[str, Any]]:
    seen = frozenset(artifacts["training_components"].decode("utf-8").split("\n"))

    def annotate(rxn: Reaction) -> dict[str, Any]:
        unseen = [c for c in rxn.components if c not in seen]
        n = len(rxn.components)
        count_ok = min_components <= n <= max_components
        domain: dict[str, Any] = {
            "unseen_components": unseen,
            "components": n,
            "method": (
                f"every component seen in training, and {min_components} to "
                f"{max_components} components as in training"
            ),
        }
        if not count_ok:
            domain["warning"] = (
                f"{n} components; training reactions had {min_components} to "
                f"{max_components} (reactants, catalyst, ligand, base, ...)"
            )
        return {"in_domain": not unseen and count_ok, "domain": domain}

    return annotate


REACTION_BAG = Featurizer(
    name="chemistry.reaction_bag",
    input_type="reaction_smiles",
    description=(
        "log1p of the summed Morgan count fingerprints of a reaction's components (with roles: "
        "one block per role, concatenated)"
    ),
    build=reaction_bag,
)

COMPONENTS_SEEN = Annotator(
    name="chemistry.components_seen",
    input_type="reaction_smiles",
    description="in_domain when every component of the reaction was seen in training",
    build=components_seen,
)
