"""Micro-batching: concurrent requests for one model version run as one call, and each caller
gets its own outputs and errors, in its own order, the same as when it runs alone."""

from __future__ import annotations

import asyncio

import pytest

from hub.errors import InvalidRequest
from hub.runtime import Runtime
from hub.runtime.batching import MicroBatcher
from tests.service.serving_support import PUBLIC, ServingHome, shared_home


def test_batcher_slices_in_order_and_gathers() -> None:
    calls: list[list[str]] = []

    async def call(batch: list[str]) -> list[str]:
        calls.append(batch)
        await asyncio.sleep(0.01)
        return [x.upper() for x in batch]

    async def main() -> list[list[str]]:
        b = MicroBatcher(window_s=0.002, max_items=64)
        first = asyncio.ensure_future(b.run("k", ["a"], call))  # idle: runs at once
        await asyncio.sleep(0.001)
        rest = [b.run("k", [f"{i}x", f"{i}y"], call) for i in range(10)]
        other = b.run("other", ["z"], call)  # another version: never in the same call
        out = await asyncio.gather(first, *rest, other)
        assert b.requests == 12 and b.calls == 3
        return out

    out = asyncio.run(main())
    assert out[0] == ["A"] and out[-1] == ["Z"]
    assert out[1:-1] == [[f"{i}X", f"{i}Y"] for i in range(10)]
    assert calls[0] == ["a"] and sorted(map(len, calls[1:])) == [1, 20]


def test_batcher_max_items_and_errors() -> None:
    async def fail(batch: list[int]) -> list[int]:
        raise InvalidRequest("bad parameter")

    async def short(batch: list[int]) -> list[int]:
        return batch[:-1]

    async def echo(batch: list[int]) -> list[int]:
        await asyncio.sleep(0)
        return batch

    async def main() -> None:
        b = MicroBatcher(window_s=0.05, max_items=4)
        results = await asyncio.gather(
            *(b.run("k", [i], fail) for i in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, InvalidRequest) for r in results)  # every caller told
        with pytest.raises(RuntimeError, match="1 outputs for 2 inputs"):
            await b.run("s", [1, 2], short)
        b.calls = 0
        out = await asyncio.gather(*(b.run("e", [i, -i], echo) for i in range(6)))
        assert out == [[i, -i] for i in range(6)] and b.calls == 3  # 4 inputs a call at most

    asyncio.run(main())


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> ServingHome:
    return shared_home(tmp_path_factory)


def test_concurrent_callers_get_their_own_outputs(home: ServingHome) -> None:
    runtime = Runtime(home.settings(prediction_cache="off", microbatch_ms=2.0))
    requests = [
        [f"C{'C' * i}O", "not-a-smiles", "c1ccccc1" + "C" * (i % 3), ""][: 1 + i % 4]
        for i in range(16)
    ]
    alone = [runtime.predict(PUBLIC, inputs).outputs for inputs in requests]

    async def main() -> list:
        first = await runtime.predict_async(PUBLIC, ["CCO"])  # warm: prepared on the loop
        assert first.outputs[0]["smiles"] == "CCO"
        batcher = runtime._batcher()
        before = batcher.calls
        out = await asyncio.gather(*(runtime.predict_async(PUBLIC, r) for r in requests))
        assert batcher.calls - before < len(requests)  # gathered into fewer calls
        return [p.outputs for p in out]

    together = asyncio.run(main())
    # the same values (to 1e-6: TensorFlow's first calls in a process may differ by an ulp),
    # the same canonical SMILES, errors in the same slots with the same codes
    assert len(together) == len(alone)
    for got, want in zip(together, alone, strict=True):
        assert [_essence(o) for o in got] == [_essence(o) for o in want]
        for g, w in zip(got, want, strict=True):
            if "error" not in w:
                assert abs(g["value"] - w["value"]) <= 1e-6
                assert abs((g.get("uncertainty") or 0) - (w.get("uncertainty") or 0)) <= 1e-6
    for inputs, outputs in zip(requests, together, strict=True):
        assert len(outputs) == len(inputs)
        for raw, out in zip(inputs, outputs, strict=True):
            if raw in ("not-a-smiles", ""):
                assert "error" in out
            else:
                assert out["value"] is not None and "error" not in out


def _essence(out: dict) -> tuple:
    if "error" in out:
        return ("error", out["error"]["code"])
    return ("ok", out["smiles"])


def test_bad_params_fail_every_gathered_caller(home: ServingHome) -> None:
    runtime = Runtime(home.settings(prediction_cache="off"))

    async def main() -> list:
        await runtime.predict_async(PUBLIC, ["CCO"])
        calls = [runtime.predict_async(PUBLIC, ["CCO"], {"explain": "maybe"}) for _ in range(4)]
        return await asyncio.gather(*calls, return_exceptions=True)

    for result in asyncio.run(main()):
        assert isinstance(result, InvalidRequest) and result.status == 422
