"""Simulators in worker processes (issue 13, hub.runtime.procpool): the same numbers as in the
API process, deadlines and disconnects stop the child's work, and a child that dies (an
engine abort, or SIGKILL from outside) is a typed error on its item and is replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk, molecule

from tests.service.simpool_support import Home, make_home, runtime


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    h = make_home(tmp_path_factory.mktemp("simpool"))
    yield h
    h.store.close()


def _atoms(atoms) -> dict:  # noqa: ANN001
    out = {"numbers": atoms.numbers.tolist(), "positions": atoms.positions.tolist()}
    if atoms.pbc.any():
        out |= {"cell": atoms.cell.array.tolist(), "pbc": atoms.pbc.tolist()}
    return out


def _predict(rt, ref: str, inputs: list, **kw) -> list[dict]:  # noqa: ANN001, ANN003
    return asyncio.run(rt.predict_async(ref, inputs, **kw)).outputs


def _assert_same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert ("value" in x) == ("value" in y), (x, y)
        if "error" in x:
            assert x["error"]["code"] == y["error"]["code"]
            continue
        assert abs(x["value"]["energy"] - y["value"]["energy"]) < 1e-9
        f, g = np.array(x["value"]["forces"]), np.array(y["value"]["forces"])
        assert f.shape == g.shape and np.abs(f - g).max() < 1e-9


def test_pool_gives_the_numbers_of_the_api_process(home: Home) -> None:
    pooled, local = runtime(home), runtime(home, pooled=False)
    assert pooled.pool("simulator") is not None and local.pool("simulator") is None
    cu = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 2, 2))
    cu.rattle(0.05, seed=1)
    emt = [_atoms(cu), _atoms(molecule("CH4")), {"symbols": ["Cu"], "positions": [[0, 0]]}]
    _assert_same(_predict(pooled, "sp.emt", emt), _predict(local, "sp.emt", emt))
    xtb = ["CCO", "CC(=O)[O-]", _atoms(molecule("H2O")) | {"charge": 8}, "C1CC1"]
    out = _predict(pooled, "sp.xtb", xtb)
    assert out[2]["error"]["code"] == "invalid_charge"  # typed errors cross as they are
    _assert_same(out, _predict(local, "sp.xtb", xtb))
    assert out[1]["value"]["total_charge"] == -1


def test_a_child_that_dies_is_a_typed_error_and_replaced(home: Home) -> None:
    rt = runtime(home)
    pool = rt.pool("simulator")
    out = _predict(rt, "sp.sleep", [0.05, -1, 0.05, 0.05])  # -1: the engine kills its process
    assert out[1]["error"]["code"] == "worker_crashed"
    assert [("value" in o) for o in out] == [True, False, True, True]
    assert out[0]["value"]["pid"] not in pool.pids()  # that child is gone
    # SIGKILL from outside while an item runs: that item is typed, the next request works
    killer = threading.Timer(1.0, lambda: [os.kill(p, signal.SIGKILL) for p in pool.pids()])
    killer.start()
    out = _predict(rt, "sp.sleep", [4.0])
    killer.join()
    assert out[0]["error"]["code"] == "worker_crashed", out
    out = _predict(rt, "sp.sleep", [0.01, 0.01])
    assert all("value" in o for o in out), out


def test_an_item_over_the_memory_limit_is_typed_and_the_child_serves_on(home: Home) -> None:
    rt = runtime(home, kind_memory_mb={"simulator": 256, "*": 0})
    # 100 MB fits in the 256 MiB a request may add; 8 GB does not (the machine would give it)
    out = _predict(rt, "sp.sleep", [1e8, 8e9, 0.01])
    assert out[0]["value"]["energy"] == 1e8 and "value" in out[2], out
    assert out[1]["error"]["code"] == "memory_limit_exceeded", out
    assert out[0]["value"]["pid"] == out[2]["value"]["pid"]  # the same child, alive
    out = _predict(runtime(home, kind_memory_mb={"*": 0}), "sp.sleep", [1e9])  # no limit
    assert out[0]["value"]["energy"] == 1e9, out


def test_deadline_stops_the_child_and_kills_an_overrunning_item(home: Home) -> None:
    rt = runtime(home, deadline_s={"simulator": 1.0, "*": 60.0})
    pool = rt.pool("simulator")
    pool.kill_margin_s = 0.5
    out = _predict(rt, "sp.sleep", [0.2] * 20)
    done = [o for o in out if "value" in o]
    assert 2 <= len(done) <= 6 and all("value" in o for o in out[: len(done)])
    late = [o["error"] for o in out[len(done) :]]
    assert {e["code"] for e in late} == {"deadline_exceeded"}
    assert late[0]["detail"] == {"limit": "deadline_s", "maximum": 1.0}
    # one item far over the deadline: its child is killed (the pool makes a new one)
    out = _predict(rt, "sp.sleep", [0.01, 30.0])
    assert "value" in out[0] and out[1]["error"]["code"] == "deadline_exceeded"
    assert out[0]["value"]["pid"] not in pool.pids()


def test_disconnect_stops_the_childs_work(home: Home) -> None:
    """B15 through the pool: the client goes away after 0.5 s of forty 0.1 s items; the
    child stops between items (it is free at once), or is killed if one item runs on."""
    rt = runtime(home)
    pool = rt.pool("simulator")
    pool.kill_margin_s = 0.5

    async def run(inputs: list) -> list[dict]:
        loop = asyncio.get_running_loop()
        gone_at = loop.time() + 0.5

        async def disconnected() -> bool:
            return loop.time() > gone_at

        await rt.predict_async("sp.sleep", [0.01], disconnected=None)  # a child is ready
        return (await rt.predict_async("sp.sleep", inputs, disconnected=disconnected)).outputs

    out = asyncio.run(run([0.1] * 40))
    done = [o for o in out if "value" in o]
    assert 1 <= len(done) <= 15, len(done)
    assert {o["error"]["code"] for o in out[len(done) :]} == {"cancelled"}
    pids = {o["value"]["pid"] for o in done}
    assert pids <= set(pool.pids())  # stopped between items: not killed
    out = asyncio.run(run([30.0]))  # one long item: its child is killed
    assert out[0]["error"]["code"] == "cancelled"


def test_pool_off_for_a_custom_registry_without_a_reference(tmp_path: Path) -> None:
    from hub.runtime import Runtime
    from tests.service.simpool_support import plugins

    h = make_home(tmp_path)
    rt = Runtime(h.settings, store=h.store, plugins=plugins())
    assert rt.pool("simulator") is None  # its children could not find these plugins
    assert runtime(h).pool("keras") is None  # kind_processes: 0 for any other kind
    h.store.close()
