"""A seeded fuzz of every input type through the predict endpoint (issue 13's acceptance).

About 4,000 hostile items (mutated SMILES, reaction SMILES and role objects, reactant sets,
atoms objects, extxyz text and SMILES for the 3D models, with the report's reproductions
among them) go through ``POST /v1/models/{ref}/predict`` of the quick-built hub (the session's
``app``: no model is built twice) with FastAPI's ``TestClient``, and a few hundred through
``POST /v1/inputs/{type}/depict``. Every response must be under 500 and no item may come back
as ``internal_error``: every bad input gets its own typed error. Bounded to about 20-30 s on
the 2-core test machine.

Run alone: ``.venv/bin/python -m pytest -q tests/test_fuzz_inputs.py -p no:cacheprovider``.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

SEED = 20261203
SLOW_S = 120  # a bound far above the expected 20-30 s: a hang fails instead of stalling CI

# Characters a hostile caller mixes in: SMILES syntax, digits, brackets, non-ASCII (B3, B10),
# control characters, lone surrogates (B2), blanks.
SMILES_CHARS = "CNOSPFIBrcnos()[]=#@+-\\/%.*:~$>123456789Hl"
HOSTILE_CHARS = ["é", "中", "ÿ", "þ", "\u0080", "\x00", "\x1f", "\x7f", "\udfff", "\ud800",
                 "\u00a0", "\u3000", "\t", "\n", " ", "\ufeff", "😀", "\u202e"]  # fmt: skip

VALID_SMILES = [
    "CCO", "c1ccccc1O", "CC(=O)Oc1ccccc1C(=O)O", "C[C@H](N)C(=O)O", "[Na+].[Cl-]",
    "CC(C)Cc1ccc(cc1)C(C)C(=O)O", "O=C(O)c1ccccc1", "C1CC1", "[2H]C([2H])([2H])O",
    "Clc1ccccn1", "Cc1ccc(N)cc1", "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3", "C/C=C/C", "[nH]1cccc1",
]  # fmt: skip
# Valid but unusual: what RDKit reads and a featurizer, model or drawing may still trip on.
EXOTIC_SMILES = [
    "*CCO", "[*]", "C$C", "[Xe]", "[U]", "[CH3]", "[C-4]", "[Pu].CCO", "[H][H]", "[2H]", "[Na+]",
    "[Fe+2].[Cl-].[Cl-]", "F[Si-2](F)(F)(F)(F)F", "[O]", "[C]", "[0C]", "[C@@H](F)(Cl)Br",
    "C=C=C=C=C", "[He]", "[Og]", "C=1CC1", "[CH4+]", "[N+5]", "C%99CC%99", "C%(123)CC%(123)",
    "S(F)(F)(F)(F)(F)F", "[I](F)(F)(F)(F)(F)(F)F", "[Li]C", "[Mg](C)Br", "CC[Hg]CC", "[C-]#[O+]",
    "C12C3C4C1C5C2C3C45", "CC(=O)O~CC(=O)O~[Pd]", "[B-](F)(F)(F)F", "c1ccccc1-c1ccccc1", "O.O.O",
]  # fmt: skip
VALID_REACTIONS = [
    "Brc1ccccn1.Cc1ccc(N)cc1>>Cc1ccc(Nc2ccccn2)cc1",
    "CCO.CC(=O)O>>CCOC(C)=O",
    "Clc1ccccn1.Cc1ccc(N)cc1.CN(C)C(=NC(C)(C)C)N(C)C.Cc1ccon1>>Cc1ccc(Nc2ccccn2)cc1",
    "OB(O)c1ccccc1.Brc1ccccc1>[Pd]>c1ccc(-c2ccccc2)cc1",
]
ROLES = ["aryl_halide", "amine", "boronic_acid", "reactant", "ligand", "catalyst", "base",
         "additive", "solvent", "reagent", "product"]  # fmt: skip
VALID_ATOMS = [
    {"numbers": [29, 29], "positions": [[0, 0, 0], [0, 0, 2.5]]},
    {"symbols": ["Cu"] * 4, "positions": [[0, 0, 0], [0, 1.8, 1.8], [1.8, 0, 1.8], [1.8, 1.8, 0]],
     "cell": [3.6, 3.6, 3.6], "pbc": True},
    {"symbols": "Cu2", "positions": [[0, 0, 0], [2.5, 0, 0]]},
    {"numbers": [6, 1, 1, 1, 1], "positions": [[0, 0, 0], [0.63, 0.63, 0.63], [-0.63, -0.63, 0.63],
     [-0.63, 0.63, -0.63], [0.63, -0.63, -0.63]]},
]  # fmt: skip
VALID_EXTXYZ = [
    '2\nLattice="3.6 0 0 0 3.6 0 0 0 3.6" pbc="T T T"\nCu 0 0 0\nCu 1.8 1.8 0\n',
    "3\n\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n",
]
SMALL_3D_SMILES = ["C", "CC", "CO", "C=O", "N", "O", "C#N", "CC=O", "OCO", "FC(F)F", "[NH4+]"]

# The report's reproductions (reliability-2026-12-03.md), each an input of its type.
REPRODUCTIONS: dict[str, list[Any]] = {
    "smiles": [
        "C\udfff",  # B2
        "C(éééééééééééééééééééé",  # B3
        "C" + "(C)" * 128,  # B4
        "CCO中",
        "C\u0080",
        "CCOÿþ",
        "\x00CCO",
        "CCO\x01",  # B10 and its ASCII cousins
    ],
    "reaction_smiles": [
        {"ligand": "InChI=1S/CH4/h1H4"},  # B5
        {"ligand": "C\udfff"},
        "CCO中>>CC",
        "C\udfff>>C",
    ],
    "reactants": [{"reactants": ["C\udfff"]}, "CCO中.CC", {"reactants": ["InChI=1S/CH4/h1H4"]}],
    "atoms": [
        {"numbers": [29, 29], "positions": [[0, 0, 0], [1e300, 0, 0]]},  # B6
        {"numbers": [10**22, 1], "positions": [[0, 0, 0], [1, 0, 0]]},  # B7
        {"numbers": [29.7, 29], "positions": [[0, 0, 0], [2.5, 0, 0]]},
        {"numbers": ["29", "29"], "positions": [[0, 0, 0], [2.5, 0, 0]]},
        {"numbers": [True, True], "positions": [[0, 0, 0], [2.5, 0, 0]]},
        {
            "numbers": [29, 29],
            "positions": [[0, 0, 0], [2.5, 0, 0]],  # B8
            "cell": [[3.6, 0, 0], [3.6, 0, 0], [0, 0, 3.6]],
            "pbc": [True, False, True],
        },
        {"symbols": "Cu100000000", "positions": [[0, 0, 0]]},  # B11
        {"extxyz": "1000000000\n\nCu 0 0 0"},  # B13
        {
            "numbers": [29],
            "positions": [[0, 0, 0]],  # B14
            "cell": [[3.6, 0, 0], [0, 3.6, 0], [0, 0, 0.0005]],
            "pbc": True,
        },
        {"symbols": ["Cu\udfff"], "positions": [[0, 0, 0]]},
    ],
    "molecule3d": [
        " ",  # B9
        "",
        "[Na+].[Cl-]",  # B27
        "****CO",  # found by this fuzz: an RDKit invariant violation while embedding
        {"numbers": [6, 1], "positions": [[0, 0, 0], [3000, 3000, 3000]]},  # B12
        "CCO中",
        "C\udfff",
    ],
}


def _mutate(rng: random.Random, text: str) -> str:
    """One to four random edits of ``text``: insert, delete, replace, duplicate a slice."""
    s = list(text)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pool = HOSTILE_CHARS if rng.random() < 0.25 else SMILES_CHARS
        ch = rng.choice(pool)
        i = rng.randint(0, len(s))
        if op < 0.35:
            s.insert(i, ch)
        elif op < 0.6 and s:
            del s[min(i, len(s) - 1)]
        elif op < 0.85 and s:
            s[min(i, len(s) - 1)] = ch
        elif s:
            j = rng.randint(0, len(s))
            a, b = sorted((i, j))
            s[a:a] = s[a:b] * rng.randint(1, 3)
    return "".join(s)


def _junk(rng: random.Random) -> Any:
    """Not text at all: numbers (huge ones too), null, booleans, lists, nested objects."""
    return rng.choice(
        [
            None,
            True,
            0,
            -1,
            2**63,
            10**30,
            1.5,
            [],
            ["CCO"],
            {},
            {"a": 1},
            [[[[]]]],
            {"\udfff": "C"},
            "x" * rng.randint(0, 50),
        ]
    )


def _smiles(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.15:
        return rng.choice(EXOTIC_SMILES + VALID_SMILES)
    if r < 0.7:
        return _mutate(rng, rng.choice(VALID_SMILES))
    if r < 0.8:  # long or repetitive: cost before work
        unit = rng.choice(["C", "C.", "c1ccccc1", "(C)", "[13CH2]", "CCO.", "C1", "[H]"])
        return unit * rng.randint(10, 700)
    if r < 0.9:
        return "".join(rng.choice(SMILES_CHARS + "".join(HOSTILE_CHARS)) for _ in range(20))
    return _junk(rng)


def _reaction_text(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.6:
        return _mutate(rng, rng.choice(VALID_REACTIONS))
    if r < 0.75:
        sides = [".".join(rng.choice(VALID_SMILES) for _ in range(rng.randint(0, 4)))
                 for _ in range(rng.randint(1, 4))]  # fmt: skip
        return ">".join(sides)
    if r < 0.85:
        return ".".join(["C"] * rng.randint(20, 2000)) + ">>C"
    return _junk(rng)


def _role_dict(rng: random.Random) -> Any:
    out: dict[Any, Any] = {}
    for _ in range(rng.randint(0, 6)):
        key = rng.choice(ROLES) if rng.random() < 0.9 else _mutate(rng, rng.choice(ROLES))
        r = rng.random()
        if r < 0.55:
            value: Any = rng.choice(VALID_SMILES + EXOTIC_SMILES)
        elif r < 0.85:
            value = _mutate(rng, rng.choice(VALID_SMILES))
        elif r < 0.9:
            value = ".".join(["CC"] * rng.randint(10, 200))
        else:
            value = _junk(rng)
        out[key] = value
    return out


def _reactants(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.15:
        return ".".join(rng.choice(EXOTIC_SMILES + VALID_SMILES) for _ in range(rng.randint(1, 3)))
    if r < 0.4:
        return ".".join(_mutate(rng, rng.choice(VALID_SMILES)) for _ in range(rng.randint(1, 3)))
    if r < 0.7:
        return {
            "reactants": [rng.choice(VALID_SMILES), _mutate(rng, rng.choice(VALID_SMILES))],
            "reagents": rng.choice([[], "CCN", ["[Pd]", _mutate(rng, "O=C=O")], 5]),
        }
    if r < 0.8:
        return {"reactants": ["C"] * rng.randint(15, 400)}
    if r < 0.9:
        return _mutate(rng, rng.choice(VALID_REACTIONS))
    return _junk(rng)


def _number(rng: random.Random) -> Any:
    return rng.choice(
        [0, 1, -1, 2.5, 1e-9, 1e4, 1e6, 1e154, 1e155, 1e300, -1e300, math.inf, math.nan, 2**64,
         "1", None, True, [1]]
    )  # fmt: skip


def _atoms(rng: random.Random) -> Any:
    r = rng.random()
    base = json.loads(json.dumps(rng.choice(VALID_ATOMS)))
    if r < 0.6:  # one or two fields corrupted
        for _ in range(rng.randint(1, 2)):
            field = rng.choice(["numbers", "symbols", "positions", "cell", "pbc", "extra"])
            choice = rng.random()
            if field == "positions" and "positions" in base and choice < 0.7:
                pos = base["positions"]
                i = rng.randrange(len(pos))
                pos[i] = [_number(rng) if rng.random() < 0.5 else c for c in pos[i]]
                if rng.random() < 0.2:
                    pos.append([0, 0, 0])
            elif field == "numbers":
                base.pop("symbols", None)
                n = len(base.get("positions", [])) or 2
                base["numbers"] = [rng.choice([29, 1, 6, 0, 119, -3, 2**70, 28.0, "Cu", None])
                                   for _ in range(n)]  # fmt: skip
            elif field == "symbols":
                base.pop("numbers", None)
                base["symbols"] = rng.choice(
                    ["Cu2", "Xx", "Cu-1", "Cu99999", "", "Cu\udfff", ["Cu", "Zz"], "H2O", 7]
                )
            elif field == "cell":
                base["cell"] = rng.choice(
                    [[0, 0, 0], [3.6, 3.6], [[1, 0, 0], [1, 0, 0], [0, 0, 1]], [1e-3] * 3,
                     [[3.6, 0, 0], [0, 3.6, 0], [0, 0, 0.01]], "cubic", [math.nan] * 3,
                     [1e6, 1e6, 1e6]]
                )  # fmt: skip
                base["pbc"] = rng.choice([True, [True, False, True], [1, 1, 0], "yes"])
            elif field == "pbc":
                base["pbc"] = rng.choice([None, 2, [True], "T", [True, True, True, True]])
            else:
                base[rng.choice(["extra", "charges", "\udfff"])] = _junk(rng)
        return base
    if r < 0.8:
        return {"extxyz": _extxyz(rng)}
    if r < 0.9:
        return {rng.choice(["numbers", "positions", "symbols"]): _junk(rng)}
    return _junk(rng)


def _extxyz(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.6:
        return _mutate(rng, rng.choice(VALID_EXTXYZ))
    if r < 0.8:
        count = rng.choice(["0", "-1", "3", "1000000000", "1e3", "99999999999999999999", "x"])
        return f"{count}\n\nCu 0 0 0\n"
    if r < 0.9:
        return '2\nLattice="' + " ".join(str(_number(rng)) for _ in range(9)) + '"\nCu 0 0 0\n'
    return _junk(rng)


def _molecule3d(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.6:
        return _mutate(rng, rng.choice(SMALL_3D_SMILES))
    if r < 0.7:
        return rng.choice(SMALL_3D_SMILES)
    if r < 0.85:
        return _atoms(rng)
    return _junk(rng)


# (model, or model/explain, generator, number of items, items per request); about 4,000 items.
PLAN: list[tuple[str, Callable[[random.Random], Any], int, int]] = [
    ("chemistry.solubility", _smiles, 900, 150),
    ("chemistry.yield-buchwald-hartwig", _reaction_text, 400, 100),
    ("chemistry.yield-buchwald-hartwig", _role_dict, 400, 100),
    ("chemistry.yield-suzuki-miyaura", _role_dict, 150, 75),
    ("chemistry.lipophilicity", _smiles, 150, 75),
    ("chemistry.hydration-free-energy/explain", _smiles, 100, 50),  # per-atom explanations
    ("chemistry.reaction-product", _reactants, 300, 100),
    ("physics.emt", _atoms, 500, 100),
    ("physics.lennard-jones", _atoms, 250, 125),
    ("physics.nnp-cu", _atoms, 250, 125),
    ("physics.gfn2-xtb", _molecule3d, 120, 60),
    ("physics.qm9-gap", _molecule3d, 120, 60),
]
DEPICT_PLAN = [("smiles", _smiles, 150), ("reaction_smiles", _role_dict, 60),
               ("reaction_smiles", _reaction_text, 60), ("reactants", _reactants, 60)]  # fmt: skip
REPRO_MODELS = {
    "smiles": "chemistry.solubility",
    "reaction_smiles": "chemistry.yield-buchwald-hartwig",
    "reactants": "chemistry.reaction-product",
    "atoms": "physics.emt",
    "molecule3d": "physics.gfn2-xtb",
}


def _batches(rng: random.Random) -> Iterator[tuple[str, list[Any]]]:
    for input_type, items in REPRODUCTIONS.items():
        yield REPRO_MODELS[input_type], items
    yield "physics.qm9-gap", REPRODUCTIONS["molecule3d"]
    for model, gen, n, per in PLAN:
        items = [gen(rng) for _ in range(n)]
        for i in range(0, n, per):
            yield model, items[i : i + per]


def _body(payload: dict[str, Any]) -> bytes:
    """JSON as a client may send it: lone surrogates as ``\\udfff`` escapes, NaN and
    Infinity as Python's encoder writes them."""
    return json.dumps(payload, ensure_ascii=True, allow_nan=True).encode("ascii")


def _shown(item: Any) -> str:
    text = ascii(item)
    return text if len(text) <= 120 else text[:117] + "..."


@pytest.fixture(scope="module")
def fuzz_api(built_home):  # noqa: ANN001, ANN201
    """The app over the session's quick-built home (no model built again), with its own
    runtime whose quotas are off: thousands of fuzzed items must neither run into the
    anonymous caller's per-minute and daily quotas nor use up those of the other tests."""
    from fastapi.testclient import TestClient

    from hub.runtime import Runtime
    from hub.service.app import create_app
    from tests.conftest import settings_for

    settings = settings_for(
        built_home,
        max_batch=20_000,
        max_body_bytes=8 * 1024 * 1024,
        anonymous_rate_per_minute=0,
        anonymous_items_per_day=0,
    )
    with TestClient(create_app(Runtime(settings), warm=False), raise_server_exceptions=False) as c:
        yield c


# Typed refusals of a whole request: a batch whose estimated cost is over a limit (413).
REQUEST_REFUSALS = {"too_expensive", "payload_too_large", "over_daily_quota"}


def _predict(api, model: str, batch: list[Any]) -> list[tuple[Any, dict[str, Any]]]:  # noqa: ANN001
    """Each item of ``batch`` with its output (or its error) from the model. A batch refused
    as a whole (413) or failed (5xx) is sent again item by item, so that each answer, and each
    failure, belongs to one item."""
    route = model if model.endswith("/explain") else f"{model}/predict"
    r = api.post(f"/v1/models/{route}", content=_body({"inputs": batch}),
                 headers={"content-type": "application/json"})  # fmt: skip
    if (r.status_code == 413 or r.status_code >= 500) and len(batch) > 1:
        return [pair for raw in batch for pair in _predict(api, model, [raw])]
    if r.status_code != 200:
        error = (
            r.json().get("error", {})
            if r.headers["content-type"].startswith("application/json")
            else {}
        )
        return [(raw, {"status": r.status_code, "error": error}) for raw in batch]
    outputs = r.json()["outputs"]
    assert len(outputs) == len(batch)
    return list(zip(batch, outputs, strict=True))


def test_fuzzed_inputs_are_all_typed(fuzz_api) -> None:  # noqa: ANN001
    """0 server errors and 0 ``internal_error`` items across every input type."""
    rng = random.Random(SEED)
    failures: list[str] = []
    items = 0
    started = time.monotonic()
    for model, batch in _batches(rng):
        for raw, out in _predict(fuzz_api, model, batch):
            items += 1
            status, error = out.get("status", 200), out.get("error") or {}
            code = error.get("code")
            if status >= 500 or code == "internal_error":
                failures.append(f"{model}: HTTP {status} {code}: "
                                f"{error.get('message', '')[:160]} <- {_shown(raw)}")  # fmt: skip
            elif status != 200 and not (status == 413 and code in REQUEST_REFUSALS):
                failures.append(f"{model}: unexpected HTTP {status} {code} <- {_shown(raw)}")
    for input_type, gen, n in DEPICT_PLAN:
        for _ in range(n):
            raw = gen(rng)
            r = fuzz_api.post(f"/v1/inputs/{input_type}/depict", content=_body({"input": raw}),
                              headers={"content-type": "application/json"})  # fmt: skip
            items += 1
            if r.status_code >= 500:
                failures.append(f"depict {input_type}: HTTP {r.status_code} "
                                f"{r.text[:160]} <- {_shown(raw)}")  # fmt: skip
    elapsed = time.monotonic() - started
    assert items >= 3000
    assert not failures, f"{len(failures)} of {items} items untyped:\n" + "\n".join(
        sorted(set(failures))[:40]
    )
    assert elapsed < SLOW_S, f"{items} fuzzed items took {elapsed:.0f} s"
