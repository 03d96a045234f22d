"""The EMT simulator through the hub equals ASE's EMT run directly; bad structures are typed."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk, fcc111, molecule
from ase.calculators.emt import EMT

from domains.physics.structures import atoms_to_json, parse_atoms
from hub.errors import ItemError


def test_matches_ase_directly(runtime) -> None:  # noqa: ANN001
    cu = bulk("Cu", "fcc", a=3.6, cubic=True) * (2, 2, 2)
    cu.rattle(0.05, seed=1)
    slab = fcc111("Cu", (2, 2, 3), vacuum=6.0)
    out = runtime.predict("physics.emt", [atoms_to_json(cu), atoms_to_json(slab)]).outputs
    for atoms, o in zip((cu, slab), out, strict=True):
        ref = atoms.copy()
        ref.calc = EMT()
        assert abs(o["value"]["energy"] - ref.get_potential_energy()) < 1e-8
        np.testing.assert_allclose(o["value"]["forces"], ref.get_forces(), atol=1e-8)
        assert o["engine"] == "ase.calculators.emt.EMT"
    np.testing.assert_allclose(
        out[0]["value"]["stress"],
        (lambda a: (setattr(a, "calc", EMT()), a.get_stress())[1])(cu.copy()),
        atol=1e-10,
    )
    assert "stress" not in out[1]["value"]  # slab: not periodic along z
    assert np.allclose(np.sum(out[0]["value"]["forces"], axis=0), 0, atol=1e-8)


def test_forces_are_minus_energy_gradient(runtime) -> None:  # noqa: ANN001
    cu = bulk("Cu", "fcc", a=3.6) * (2, 2, 2)
    cu.rattle(0.05, seed=2)
    f = np.array(runtime.predict("physics.emt", [atoms_to_json(cu)]).outputs[0]["value"]["forces"])
    h = 1e-4
    for i, k in [(0, 0), (3, 2)]:
        plus, minus = cu.copy(), cu.copy()
        plus.positions[i, k] += h
        minus.positions[i, k] -= h
        e = [
            runtime.predict("physics.emt", [atoms_to_json(a)]).outputs[0]["value"]["energy"]
            for a in (plus, minus)
        ]
        assert abs(-(e[0] - e[1]) / (2 * h) - f[i, k]) < 1e-5


def test_unsupported_element_names_it(runtime) -> None:  # noqa: ANN001
    out = runtime.predict("physics.emt", [atoms_to_json(molecule("CH3Cl"))]).outputs[0]
    assert out["error"]["code"] == "unsupported_element"
    assert "Cl" in out["error"]["message"]


CELL = [[3.6, 0, 0], [0, 3.6, 0], [0, 0, 3.6]]


@pytest.mark.parametrize(
    "raw,code",
    [
        ({"symbols": ["Cu"], "positions": [[float("nan"), 0, 0]]}, "non_finite"),
        ({"symbols": ["Cu"], "positions": [[float("inf"), 0, 0]]}, "non_finite"),
        ({"symbols": ["Cu", "Cu"], "positions": [[0, 0, 0], [0.1, 0, 0]]}, "overlapping_atoms"),
        (
            {
                "symbols": ["Cu"],
                "positions": [[0, 0, 0]],
                "cell": [[1, 0, 0], [2, 0, 0], [0, 0, 1]],
                "pbc": True,
            },
            "singular_cell",
        ),
        ({"symbols": ["Qq"], "positions": [[0, 0, 0]]}, "unknown_element"),
        ({"numbers": [0], "positions": [[0, 0, 0]]}, "unknown_element"),
        ({"symbols": ["Cu"], "positions": [[0, 0]]}, "invalid_atoms"),
        ({"symbols": ["Cu"], "positions": [[0, 0, 0]], "cell": CELL[:2]}, "invalid_atoms"),
        ({"symbols": [], "positions": []}, "invalid_atoms"),
        ({"symbols": "Cu6000", "positions": [[0, 0, 0]]}, "too_many_atoms"),
        ({"extxyz": "not an xyz file"}, "invalid_atoms"),
        ("Cu", "invalid_atoms"),
    ],
)
def test_bad_structures_are_typed(raw: object, code: str) -> None:
    with pytest.raises(ItemError) as e:
        parse_atoms(raw)
    assert e.value.code == code, e.value.message


def test_extxyz_and_formula_inputs() -> None:
    import io

    from ase.io import write

    cu = bulk("Cu", "fcc", a=3.6)
    buf = io.StringIO()
    write(buf, cu, format="extxyz")
    got = parse_atoms({"extxyz": buf.getvalue()})
    assert got.get_chemical_formula() == "Cu" and got.pbc.all()
    two = parse_atoms(
        {
            "symbols": "Cu2",
            "positions": [[0, 0, 0], [2, 0, 0]],
            "cell": [4, 4, 4],
            "pbc": [True, True, False],
        }
    )
    assert two.pbc.tolist() == [True, True, False]
