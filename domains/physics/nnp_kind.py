"""The ``physics.nnp`` model kind: a trained neural-network potential served like a simulator.

Spec of a version (written by :mod:`domains.physics.recipes_nnp`)::

    {"input_type": "atoms", "elements": ["Cu"], "descriptor": {...DescriptorSpec...},
     "hidden": [48, 48], "engine": "physics.nnp (Behler-Parrinello, TensorFlow)", ...}

The artifact ``weights`` is a ``.npz`` of float arrays, checked against its sha256 by the hub
and read with ``allow_pickle=False``. Each output has the simulator kind's shape, ``{"value":
{"energy", "forces", "stress"}, "unit": {...}, "engine", "params"}``, so the ``relax``, ``eos``
and ``md`` tasks and the remote ASE calculator work on it unchanged. Elements outside the
training set are an ``unsupported_element`` error, never an extrapolation.

Cost before work: every structure is checked against the version's ``spec["limits"]`` (unset
keys, or a version registered before limits existed, take
:data:`~domains.physics.limits.NNP_LIMITS`, with the descriptor's cutoff plus the pair list's
skin): ``too_many_atoms`` or ``too_expensive`` (neighbour pairs, or atoms of the periodic
images the neighbour search replicates), before any pair list is built.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from hub.sdk import (
    Budget,
    ItemError,
    LoadContext,
    ModelKind,
    PluginError,
    Version,
    each_item,
    parse_item,
)

UNITS = {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å^3"}
ENGINE = "physics.nnp (Behler-Parrinello, TensorFlow)"


class NNPPredictor:
    """A loaded potential: one compiled function, warm, for any number of atoms."""

    def __init__(self, version: Version, ctx: LoadContext) -> None:
        from domains.physics.nnp import DescriptorSpec, NNPotential, load_weights

        spec = version.spec
        self.version = version
        if "weights" not in version.artifacts:
            raise PluginError(f"{version.ref} has no 'weights' artifact")
        self.elements = frozenset(spec["elements"])
        self.input_type = ctx.plugins.input_type(spec.get("input_type", "atoms"))
        self.max_chars = ctx.max_input_chars
        self.engine = spec.get("engine", ENGINE)
        self.params = {
            "elements": sorted(self.elements),
            "cutoff_angstrom": spec["descriptor"]["rc_radial"],
        }
        from domains.physics.limits import NNP_LIMITS, limits_from

        reach = float(spec["descriptor"]["rc_radial"]) + 0.5  # the pair list's skin
        self.limits = limits_from(
            spec.get("limits"),
            NNP_LIMITS.model_copy(update={"cutoff_angstrom": reach}),
            version.model,
        )
        try:
            weights = load_weights(ctx.read_artifact(version.artifacts["weights"]))
            self.potential = NNPotential(
                weights, DescriptorSpec.from_dict(spec["descriptor"]), elements=tuple(self.elements)
            )
        except (ValueError, KeyError, OSError) as exc:
            raise PluginError(f"{version.ref}: unusable weights or descriptor: {exc}") from exc

    def predict(
        self, inputs: Sequence[Any], params: Mapping[str, Any], *, budget: Budget | None = None
    ) -> list[dict[str, Any]]:
        """Energy (eV), forces (eV/Å) and, for fully periodic cells, stress (eV/Å^3, Voigt).
        No parameters (the runtime checks that ``params`` is empty)."""
        from domains.physics.simulators import require_elements

        def evaluate(_: int, raw: Any) -> dict[str, Any]:
            atoms = parse_item(self.input_type.parse, raw, self.max_chars)
            require_elements(atoms, self.elements, self.version.model)
            self.limits.check(atoms, self.version.model)
            res = self.potential.evaluate([atoms])[0]
            if not math.isfinite(res["energy"]):
                raise ItemError("the potential gave a non-finite energy", code="simulation_failed")
            value = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in res.items()}
            return {
                "value": value,
                "unit": {k: UNITS[k] for k in value},
                "engine": self.engine,
                "params": self.params,
            }

        return each_item(inputs, evaluate, budget)


NNP_KIND = ModelKind(name="physics.nnp", load=NNPPredictor)
