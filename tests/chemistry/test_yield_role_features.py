"""The per-role form of ``chemistry.reaction_bag`` (the yield models' features)."""

from __future__ import annotations

import numpy as np

from domains.chemistry.reaction_features import reaction_bag
from domains.chemistry.reactions import parse_reaction
from domains.chemistry.recipes_yield import role_lists

RXN = "Brc1ccccn1.Cc1ccc(N)cc1.CN(C)C(=NC(C)(C)C)N(C)C.Cc1cc(C)on1>>Cc1ccc(Nc2ccccn2)cc1"


def test_each_role_fills_its_own_block() -> None:
    roles = [["Brc1ccccn1"], ["Cc1cc(C)on1", "CN(C)C(=NC(C)(C)C)N(C)C"]]
    bits = 256
    x = reaction_bag(2, 4096, roles, bits)(parse_reaction(RXN))
    assert x.shape == (3 * bits,) and x.dtype == np.float32
    blocks = x.reshape(3, bits)
    alone = reaction_bag(2, bits, [["Brc1ccccn1"]], bits)
    # block 0 is the aryl halide's counts alone, whatever else the reaction holds
    only = alone(parse_reaction("Brc1ccccn1>>"))
    np.testing.assert_array_equal(blocks[0], only[:bits])
    # the amine is in no list: the last block; the base and additive share block 1
    amine = alone(parse_reaction("Cc1ccc(N)cc1>>"))
    np.testing.assert_array_equal(blocks[2], amine[bits:])
    assert blocks[1].sum() > 0


def test_without_roles_the_bag_is_the_sum() -> None:
    rxn = parse_reaction(RXN)
    summed = reaction_bag(2, 512)(rxn)
    parts = [reaction_bag(2, 512)(parse_reaction(f"{c}>>")) for c in rxn.components]
    np.testing.assert_allclose(np.expm1(summed), sum(np.expm1(p) for p in parts), rtol=1e-5)


def test_role_lists_read_each_column() -> None:
    rows = [
        {"halide": "Brc1ccccn1", "base": "[OH-].[Na+]"},
        {"halide": "Clc1ccccn1", "base": ""},
    ]
    assert role_lists(rows, ("halide", "base")) == [
        ["Brc1ccccn1", "Clc1ccccn1"],
        ["[Na+]", "[OH-]"],
    ]
