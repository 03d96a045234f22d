"""Hostile physics inputs (reliability report of 2026-12-03): each is refused with a typed error
naming the limit, quickly and without allocating what it asks for."""

from __future__ import annotations

import random
import resource
import time
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

from domains.physics.limits import NNP_LIMITS, QM9_LIMITS, XTB_LIMITS, Limits, neighbour_pairs
from domains.physics.structures import MAX_ATOMS, atoms_to_json, parse_atoms, parse_molecule3d
from domains.physics.tasks import MAX_FRAMES, TASKS, check_cost, md
from hub.errors import InvalidRequest, ItemError

TASK = {t.name: t for t in TASKS}


def item_error(raw: object, parse=parse_atoms) -> ItemError:  # noqa: ANN001
    with pytest.raises(ItemError) as e:
        parse(raw)
    return e.value


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.fixture(scope="module")
def phys_runtime(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A hub with only the three simulators registered (seconds to build)."""
    from hub.artifacts import ArtifactStore
    from hub.build import build_all
    from hub.catalog import CatalogStore
    from hub.config import Settings, sqlite_url
    from hub.plugins import load_plugins
    from hub.runtime import Runtime

    home: Path = tmp_path_factory.mktemp("phys-home")
    settings = Settings(sqlite_url(home / "registry.db"), home / "artifacts")
    store = CatalogStore(settings.database_url)
    build_all(load_plugins().recipes(), store, ArtifactStore(settings.artifacts_dir), quick=True,
              only=["physics.emt", "physics.gfn2-xtb", "physics.lennard-jones"])  # fmt: skip
    return Runtime(settings, store=store)


# -- input types --------------------------------------------------------------------------------


def test_b6_huge_coordinates_are_typed(phys_runtime) -> None:  # noqa: ANN001
    raw = {"numbers": [29, 29], "positions": [[0, 0, 0], [1e300, 0, 0]]}
    e = item_error(raw)
    assert e.code == "coordinates_out_of_range" and e.detail["limit"] == "max_coordinate_angstrom"
    cell = {"numbers": [29], "positions": [[0, 0, 0]], "cell": [1e200, 3, 3], "pbc": True}
    assert item_error(cell).code == "coordinates_out_of_range"
    # an integer too large for a float is a shape/type error, not an OverflowError
    assert item_error({"numbers": [29], "positions": [[10**400, 0, 0]]}).code == "invalid_atoms"
    for model in ("physics.emt", "physics.gfn2-xtb"):
        out = phys_runtime.predict(model, [raw]).outputs[0]
        assert out["error"]["code"] == "coordinates_out_of_range", out
    # through a job: refused at submission, typed
    from hub.jobs.runner import submit_job

    with pytest.raises(ItemError) as e:
        submit_job(phys_runtime, model="physics.emt", task="relax", input=raw)
    assert e.value.code == "coordinates_out_of_range" and e.value.status == 422


@pytest.mark.parametrize(
    "numbers,code",
    [
        ([10_000_000_000_000_000_000_000, 1], "unknown_element"),
        ([2**63, 1], "unknown_element"),
        ([29.7, 29], "invalid_atoms"),
        (["29", "29"], "invalid_atoms"),
        ([True, True], "invalid_atoms"),
        ([None, 29], "invalid_atoms"),
        ([[29], [29]], "invalid_atoms"),
        ([float("nan"), 29], "invalid_atoms"),
        ([0, 29], "unknown_element"),
        ([119, 29], "unknown_element"),
    ],
)
def test_b7_atomic_numbers_must_be_integers_of_elements(numbers: list, code: str) -> None:
    e = item_error({"numbers": numbers, "positions": [[0, 0, 0], [2.5, 0, 0]]})
    assert e.code == code, e.message


def test_b7_whole_numbers_are_still_read() -> None:
    got = parse_atoms({"numbers": [29.0, np.int64(29)], "positions": [[0, 0, 0], [2.5, 0, 0]]})
    assert got.numbers.tolist() == [29, 29]


def test_b8_singular_partly_periodic_cell_is_typed(phys_runtime) -> None:  # noqa: ANN001
    raw = {
        "numbers": [29, 29],
        "positions": [[0, 0, 0], [2.5, 0, 0]],
        "cell": [[3.6, 0, 0], [3.6, 0, 0], [0, 0, 3.6]],
        "pbc": [True, False, True],
    }
    assert item_error(raw).code == "singular_cell"
    assert phys_runtime.predict("physics.emt", [raw]).outputs[0]["error"]["code"] == "singular_cell"
    # a partly periodic slab with no third vector is still fine
    slab = parse_atoms(
        {
            "numbers": [29, 29],
            "positions": [[0, 0, 0], [1.8, 1.8, 0]],
            "cell": [[3.6, 0, 0], [0, 3.6, 0], [0, 0, 0]],
            "pbc": [True, True, False],
        }
    )
    assert slab.pbc.tolist() == [True, True, False]


@pytest.mark.parametrize("smiles", [" ", "", "\t"])
def test_b9_empty_smiles_for_3d_models_is_empty_input(phys_runtime, smiles: str) -> None:  # noqa: ANN001
    assert item_error(smiles, parse_molecule3d).code == "empty_input"
    out = phys_runtime.predict("physics.gfn2-xtb", [smiles]).outputs[0]
    assert out["error"]["code"] == "empty_input"


def test_b11_formula_counted_before_expanding() -> None:
    before, started = rss_mb(), time.perf_counter()
    for formula in ("Cu100000000", "Cu1000000000000", "(Cu1000)1000000", "H2(CH2)100000O"):
        e = item_error({"symbols": formula, "positions": [[0, 0, 0]]})
        assert e.code == "too_many_atoms" and e.detail["maximum"] == MAX_ATOMS, formula
    assert time.perf_counter() - started < 1.0
    assert rss_mb() - before < 50  # was 5.2 GB for Cu100000000
    e = item_error({"symbols": "Cu" + "9" * 5000, "positions": [[0, 0, 0]]})
    assert e.code == "invalid_atoms"  # over the formula's length limit
    assert item_error({"symbols": "Qq2", "positions": [[0, 0, 0]] * 2}).code == "unknown_element"
    ok = parse_atoms({"symbols": "(CH3)2O", "positions": [[1.5 * i, 0, 0] for i in range(9)]})
    assert ok.get_chemical_formula() == "C2H6O"


def test_b12_soap_molecule_extent_and_fragments_are_limited() -> None:
    from domains.physics.descriptors import soap_pooled

    featurize = soap_pooled()
    before, started = rss_mb(), time.perf_counter()
    for far in (3000.0, 1e4, 60.0):
        with pytest.raises(ItemError) as e:
            featurize(Atoms("CH", positions=[[0, 0, 0], [far, far, far]]))
        assert e.value.code == "molecule_too_large", far
        assert e.value.detail["limit"] == "max_extent_angstrom"
    assert time.perf_counter() - started < 1.0 and rss_mb() - before < 50  # was 7.2 GB
    two = molecule("CH4")
    other = molecule("CH4")
    other.translate([8.0, 0, 0])
    with pytest.raises(ItemError) as e:
        featurize(two + other)
    assert e.value.code == "disconnected_molecule" and e.value.detail["value"] == 2
    with pytest.raises(ItemError) as e:
        featurize(Atoms("C" * 61, positions=np.arange(183).reshape(61, 3) * 0.5))
    assert e.value.code == "too_many_atoms"
    assert featurize(molecule("CH3CH2OH")).shape == (5 * 841,)


def test_b12_every_sampled_qm9_molecule_passes_the_limits() -> None:
    from domains.physics import qm9

    data = qm9.load_qm9(rows=np.arange(0, 130_000, 260))  # 500 molecules across the set
    for i in range(len(data)):
        QM9_LIMITS.check(data.atoms(i), "qm9")  # measured on all 130,831: 29 atoms, 13.1 Å


def test_b13_extxyz_declared_count_read_first() -> None:
    started = time.perf_counter()
    e = item_error({"extxyz": "1000000000\n\nCu 0 0 0"})
    assert e.code == "too_many_atoms" and e.detail["value"] == 1_000_000_000
    assert time.perf_counter() - started < 2.0  # was 37-45 s of GIL-holding Python
    assert item_error({"extxyz": "4000\n\nCu 0 0 0"}).code == "invalid_atoms"  # lines missing
    assert item_error({"extxyz": "0\n\n"}).code == "empty_input"
    assert item_error({"extxyz": "-1\n\nCu 0 0 0"}).code == "invalid_atoms"
    assert item_error({"extxyz": "1e9\n\nCu 0 0 0"}).code == "invalid_atoms"
    assert parse_atoms({"extxyz": "2\n\nCu 0 0 0\nCu 2.5 0 0\n"}).get_chemical_formula() == "Cu2"


@pytest.mark.parametrize(
    "cell,pbc",
    [
        ([[3.6, 0, 0], [0, 3.6, 0], [0, 0, 0.0005]], True),
        ([[3.6, 0, 0], [0, 3.6, 0], [0, 0, 1e-5]], True),
        ([0.15, 0.15, 0.15], True),
        ([0.08, 0.08, 0.08], True),
        ([[3.6, 0, 0], [0, 0.2, 0], [0, 0, 3.6]], [False, True, False]),
        ([[3.6, 0, 0], [3.5, 0.01, 0], [0, 0, 3.6]], True),  # skewed: 0.01 Å thick
    ],
)
def test_b14_thin_or_tiny_periodic_cells_are_refused(phys_runtime, cell, pbc) -> None:  # noqa: ANN001
    raw = {"numbers": [29], "positions": [[0, 0, 0]], "cell": cell, "pbc": pbc}
    started = time.perf_counter()
    e = item_error(raw)
    assert e.code == "cell_too_small" and e.detail["limit"] == "min_cell_height_angstrom"
    out = phys_runtime.predict("physics.emt", [raw]).outputs[0]
    assert out["error"]["code"] == "cell_too_small"
    assert time.perf_counter() - started < 1.0  # 0.0005 Å took 6 s, 1e-5 Å over 60 s


def test_b14_small_but_legal_cell_still_runs(phys_runtime) -> None:  # noqa: ANN001
    raw = {"numbers": [29], "positions": [[0, 0, 0]], "cell": [2.5, 2.5, 2.5], "pbc": True}
    out = phys_runtime.predict("physics.emt", [raw]).outputs[0]
    assert np.isfinite(out["value"]["energy"])


def test_b27_disconnected_smiles_is_a_clear_error(phys_runtime) -> None:  # noqa: ANN001
    e = item_error("[Na+].[Cl-]", parse_molecule3d)
    assert e.code == "disconnected_molecule" and "2 disconnected fragments" in e.message
    out = phys_runtime.predict("physics.gfn2-xtb", ["[Na+].[Cl-]", "CCO.O"]).outputs
    assert [o["error"]["code"] for o in out] == ["disconnected_molecule"] * 2


@pytest.mark.parametrize("smiles", ["CCO中", "C\udfff", "C(" + "é" * 20, "C" + "(C)" * 128])
def test_smiles_for_3d_models_rdkit_cannot_take_are_invalid_smiles(smiles: str) -> None:
    assert item_error(smiles, parse_molecule3d).code == "invalid_smiles"


# -- the models' own limits ----------------------------------------------------------------------


def test_limits_are_in_the_simulators_engine_parameters(phys_runtime) -> None:  # noqa: ANN001
    emt = phys_runtime.store.resolve("physics.emt").spec["params"]["limits"]
    xtb = phys_runtime.store.resolve("physics.gfn2-xtb").spec["params"]["limits"]
    assert emt["max_atoms"] == 5000 and xtb["max_atoms"] == XTB_LIMITS.max_atoms < 5000
    assert xtb["max_basis_functions"] == XTB_LIMITS.max_basis_functions


def test_xtb_refuses_large_molecules_before_the_scf(phys_runtime) -> None:  # noqa: ANN001
    chain = Atoms("C" * 300, positions=[[1.5 * i, 0, 0] for i in range(300)])
    silicon = Atoms("Si" * 100, positions=[[2.3 * i, 0, 0] for i in range(100)])  # 900 s,p,d
    started = time.perf_counter()
    out = phys_runtime.predict("physics.gfn2-xtb", [atoms_to_json(chain), atoms_to_json(silicon)])
    assert time.perf_counter() - started < 2.0
    first, second = (o["error"] for o in out.outputs)
    assert first["code"] == "too_many_atoms" and first["detail"]["limit"] == "max_atoms"
    assert second["code"] == "too_expensive"
    assert second["detail"]["limit"] == "max_basis_functions"


def test_emt_refuses_too_many_neighbours_before_computing(phys_runtime) -> None:  # noqa: ANN001
    grid = np.stack(np.meshgrid(*[np.arange(16)] * 3), -1).reshape(-1, 3) * 0.55  # 4,096 atoms
    dense = Atoms("Cu" * len(grid), positions=grid)
    started = time.perf_counter()
    out = phys_runtime.predict("physics.emt", [atoms_to_json(dense)]).outputs[0]
    assert out["error"]["code"] == "too_expensive"
    assert out["error"]["detail"]["limit"] == "max_neighbour_pairs"
    assert time.perf_counter() - started < 3.0
    fcc = bulk("Cu", cubic=True).repeat((6, 6, 6))  # 864 atoms of ordinary copper: fine
    assert neighbour_pairs(fcc, 6.0) < 2_000_000


def test_neighbour_pair_estimate_follows_the_density() -> None:
    from ase.neighborlist import neighbor_list

    for atoms in (
        bulk("Cu", cubic=True).repeat((3, 3, 3)),
        bulk("Cu", "fcc", a=3.6),
        molecule("C60"),
    ):
        exact = len(neighbor_list("i", atoms, 6.0))
        assert 0.5 * exact <= neighbour_pairs(atoms, 6.0) <= 2.0 * exact


def test_nnp_limits_count_periodic_images() -> None:
    grid = np.stack(np.meshgrid(np.arange(10), np.arange(10), [0]), -1).reshape(-1, 3) * 3.0
    thin = Atoms("Cu" * 100, positions=grid, cell=[30, 30, 0.6], pbc=True)  # 0.6 Å thick
    limits = NNP_LIMITS.model_copy(update={"max_image_atoms": 1000, "max_neighbour_pairs": None})
    with pytest.raises(ItemError) as e:
        limits.check(thin, "physics.nnp-cu")
    assert e.value.code == "too_expensive" and e.value.detail["limit"] == "max_image_atoms"


def test_limits_refuse_unknown_keys() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Limits(max_atomz=3)


# -- jobs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "task,params",
    [
        ("md", {"steps": "100"}),
        ("md", {"interval": "10"}),
        ("md", {"seed": 1.5}),
        ("md", {"friction_per_fs": "inf"}),
        ("md", {"friction_per_fs": float("inf")}),
        ("md", {"temperature_K": float("nan")}),
        ("md", {"steps": True}),
        ("md", {"steps": 1.5}),
        ("md", {"seed": -1}),
        ("md", {"seed": 2**64}),
        ("md", {"integrator": "leapfrog"}),
        ("md", {"temperature": 300}),
        ("relax", {"fmax": "0.05"}),
        ("relax", {"steps": 0}),
        ("relax", {"optimizer": "bfgs"}),
        ("eos", {"points": 5.5}),
        ("eos", {"strain": 0.5}),
    ],
)
def test_b17_job_parameters_refused_at_submission(phys_runtime, task: str, params: dict) -> None:  # noqa: ANN001
    from hub.jobs.runner import submit_job

    cu = atoms_to_json(bulk("Cu", "fcc", a=3.6))
    with pytest.raises(InvalidRequest) as e:
        submit_job(phys_runtime, model="physics.emt", task=task, input=cu, params=params)
    assert e.value.status == 422 and e.value.detail["errors"], e.value.message


def test_b17_job_parameters_are_stored_converted(phys_runtime) -> None:  # noqa: ANN001
    from hub.jobs.runner import submit_job

    cu = atoms_to_json(bulk("Cu", "fcc", a=3.6))
    job = submit_job(
        phys_runtime,
        model="physics.emt",
        task="md",
        input=cu,
        params={"steps": 20, "timestep_fs": 1},
    )
    stored = phys_runtime.jobs.get(job.id).params
    assert stored["steps"] == 20 and stored["timestep_fs"] == 1.0
    assert isinstance(stored["timestep_fs"], float) and stored["interval"] == 10
    assert TASK["md"].check_params.json_schema()["properties"]["steps"]["maximum"] == 100_000


def test_b18_md_steps_and_stored_frames_are_capped() -> None:
    check = TASK["md"].check_params
    with pytest.raises(InvalidRequest) as e:
        check({"steps": 1_000_000, "interval": 1})
    assert "100000" in e.value.message
    with pytest.raises(InvalidRequest) as e:
        check({"steps": 100_000, "interval": 1})
    assert e.value.code == "too_expensive" and e.value.detail["limit"] == "max_frames"
    assert "interval >= 101" in e.value.message
    ok = check({"steps": 100_000, "interval": 101})
    assert ok["steps"] // ok["interval"] + 1 <= MAX_FRAMES


def test_b18_expensive_job_refused_before_any_force_call() -> None:
    class Untouchable:
        def predict(self, *_: object) -> list:
            raise AssertionError("the model must not be called")

    big = bulk("Cu", cubic=True).repeat((10, 10, 10))  # 4,000 atoms
    params = TASK["md"].check_params({"steps": 10_000, "interval": 100})
    with pytest.raises(InvalidRequest) as e:
        md(Untouchable(), big, params, lambda *_: None)
    assert e.value.code == "too_expensive" and e.value.detail["limit"] == "max_atom_steps"
    params = TASK["md"].check_params({"steps": 1_000, "interval": 2})  # 501 frames x 4,000
    with pytest.raises(InvalidRequest) as e:
        check_cost(big, params, "md")
    assert e.value.detail["limit"] == "max_frame_atoms"


def test_md_stores_steps_over_interval_frames(phys_runtime) -> None:  # noqa: ANN001
    predictor = phys_runtime.predictor(phys_runtime.store.resolve("physics.emt"))
    params = TASK["md"].check_params({"steps": 20, "interval": 5})
    out = md(predictor, bulk("Cu", "fcc", a=3.6).repeat(2), params, lambda *_: None)
    assert out["frames"] == 5


# -- a seeded fuzz of the atoms input: every item typed --------------------------------------------


def _mutations(rng: random.Random) -> object:
    good = {"numbers": [29, 29], "positions": [[0, 0, 0], [2.5, 0, 0]]}
    values = [
        None, True, "29", 29.7, -1, 0, 2**63, 10**30, 1e300, float("nan"), float("inf"), [],
        [[]], {}, "Cu" * 3, "\udfff", [1, [2]], 1e-320,
    ]  # fmt: skip
    raw = {k: v for k, v in good.items()}
    key = rng.choice(["numbers", "positions", "cell", "pbc", "symbols", "extxyz"])
    if key == "numbers":
        raw["numbers"] = [rng.choice(values), 29]
    elif key == "positions":
        raw["positions"] = [[0, 0, 0], [rng.choice(values), 0, 0]]
    elif key == "cell":
        raw["cell"] = rng.choice(
            [[rng.choice(values)] * 3, [[rng.choice(values), 0, 0], [0, 3, 0], [0, 0, 3]]]
        )
        raw["pbc"] = rng.choice([True, [True, False, True], False])
    elif key == "pbc":
        raw["pbc"] = rng.choice(values)
    elif key == "symbols":
        raw = {"symbols": rng.choice(["Cu2", "Cu" + str(rng.choice(values)), "(Cu", ")2", "Cu-1"]),
               "positions": good["positions"]}  # fmt: skip
    else:
        raw = {"extxyz": f"{rng.choice(values)}\n\nCu 0 0 {rng.choice(values)}"}
    return raw


def test_fuzzed_atoms_inputs_are_all_typed(phys_runtime) -> None:  # noqa: ANN001
    rng = random.Random(13)
    items = [_mutations(rng) for _ in range(400)]
    started = time.perf_counter()
    for model in ("physics.emt", "physics.lennard-jones"):
        outs = phys_runtime.predict(model, items).outputs
        codes = [o["error"]["code"] for o in outs if "error" in o]
        assert "internal_error" not in codes, [
            (i, o) for i, o in zip(items, outs, strict=True) if "internal_error" in str(o)
        ][:3]
    assert time.perf_counter() - started < 30


def test_cost_estimate_reads_counts_without_expanding() -> None:
    from domains.physics.structures import estimate_atoms

    assert estimate_atoms({"symbols": "Cu2O", "positions": []}) == 3
    assert estimate_atoms({"numbers": [29] * 7}) == 7
    assert estimate_atoms({"extxyz": "12\n\n"}) == 12
    assert estimate_atoms("CCO") == 8  # 3 heavy atoms, hydrogens guessed
    # over the input type's limit: refused before any work, so capped at that limit
    assert estimate_atoms({"symbols": "Cu100000000"}) == MAX_ATOMS
    assert estimate_atoms({"extxyz": "1000000000\n\nCu 0 0 0"}) == MAX_ATOMS
    assert estimate_atoms({"symbols": "(("}) == estimate_atoms(None) == 1


def test_b18_job_cost_can_be_checked_at_submission() -> None:
    check = TASK["md"].check_params
    big = bulk("Cu", cubic=True).repeat((10, 10, 10))
    params = check({"steps": 10_000, "interval": 100})
    with pytest.raises(InvalidRequest) as e:
        check.check_input(big, params)
    assert e.value.status == 422 and e.value.detail["limit"] == "max_atom_steps"
    check.check_input(bulk("Cu", cubic=True), params)  # 4 atoms: fine
    TASK["relax"].check_params.check_input(big, TASK["relax"].check_params({}))


def test_b18_too_expensive_job_is_refused_by_submit_job(phys_runtime) -> None:  # noqa: ANN001
    from hub.jobs.runner import submit_job

    big = atoms_to_json(bulk("Cu", cubic=True).repeat((10, 10, 10)))  # 4,000 atoms
    queued = len(phys_runtime.jobs.list())
    with pytest.raises(InvalidRequest) as e:
        submit_job(
            phys_runtime,
            model="physics.emt",
            task="md",
            input=big,
            params={"steps": 10_000, "interval": 100},
        )
    assert e.value.code == "too_expensive" and e.value.detail["limit"] == "max_atom_steps"
    assert len(phys_runtime.jobs.list()) == queued  # nothing was queued


@pytest.mark.parametrize("smiles", ["*C", "****CO"])
def test_dummy_atoms_in_smiles_for_3d_models_are_invalid_smiles(smiles: str) -> None:
    """'*C' was embedded with an element X; '****CO' broke RDKit's DistGeom (found by fuzz)."""
    from domains.physics.structures import parse_molecule3d

    with pytest.raises(ItemError) as e:
        parse_molecule3d(smiles)
    assert e.value.code == "invalid_smiles" and "dummy atom" in e.value.message


@pytest.mark.parametrize("cell", [[0, 0, 0], [[3, 0, 0], [0, 3, 0], [0, 0, 0]]])
def test_periodic_direction_without_a_vector_is_a_singular_cell(cell: list) -> None:
    """ASE completes a zero vector with a unit one: [0, 0, 0] with pbc passed as a 1 Å cube."""
    raw = {"numbers": [29, 29], "positions": [[0, 0, 0], [0, 0, 2.5]], "cell": cell, "pbc": True}
    assert item_error(raw).code == "singular_cell"


def test_error_detail_with_an_integer_over_64_bits_is_serialisable() -> None:
    import orjson

    err = item_error({"extxyz": "99999999999999999999\n\nCu 0 0 0\n"})
    assert err.code == "too_many_atoms"
    assert orjson.loads(orjson.dumps(err.to_dict()))["detail"]["value"] == 1e20
