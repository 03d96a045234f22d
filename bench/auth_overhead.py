"""Added median latency of authentication + audit (+ the quota check) on a single-SMILES
prediction, measured in one run against the same app with and without them.

One process, one runtime, one FastAPI app, called in process through ASGI (no network, so the
difference is not lost in socket noise). The modes take turns request by request, so load
from other processes hits them alike:

- **bare**: ``POST /v1/models/{ref}/bare-predict``, added to the app for this bench: the predict
  route as it was before identities and the audit (its body and ``RuntimeDep``; no identity
  dependency, no ``track()``),
  with the audit middleware passing the request through (``app.state.audit_bypass``);
- **auth only**: the key checked, the audit middleware passed through (so no quota either);
- **auth + audit**: ``Authorization: Bearer <key>`` verified by the gate (cached after the
  first request, as in a running server), the route's ``track()`` (model resolved, inputs
  counted, quota charged: the bench's user has limits it never reaches, so every request is
  counted and checked), the audit row queued for the batched writer, which writes while the
  requests run.

For each request it records:

- **latency**: the wall time until the last part of the response is sent (what a client waits
  for: a server writes it to the socket then);
- **latency outside the model**: the same minus the wall time spent inside the model
  (``Runtime.predict_async``, the same work in every mode): the part authentication and the
  audit can add to, and far less noisy than the whole on a shared machine, where a
  single-SMILES prediction varies by milliseconds;
- **until the app returns**: the wall time until the ASGI app returns, which adds the work
  done after the response (the audit row queued);
- **CPU time of the event loop**: the CPU time of the event loop's thread (the model runs in
  worker threads: this is the routing, authentication, audit and quota work, without the
  time other processes take the core);
- **CPU time of the process**: all threads (the audit writer's batched writes and background
  reservations included, but also the model's threads).

``--repeat`` runs the whole comparison several times and prints the median of each figure
over the runs.

``--redis URL`` keeps the quota counters in that Redis (as ``HUB_REDIS_URL`` does, under a
prefix of the bench's own, removed after).

The model is ``chemistry.solubility`` of ``--home`` (default ``$HUB_HOME``) when it is built
there, else a quick build into a temporary folder (about a minute).

    .venv/bin/python bench/auth_overhead.py [--n 3000] [--repeat 3] [--home DIR] [--redis URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODEL = "chemistry.solubility"
BODY = b'{"inputs": ["CCO"]}'


def hub_home(home: Path | None) -> Path:
    """A home where ``MODEL`` is built (building it quick into a temporary one if needed)."""
    from hub.artifacts import ArtifactStore
    from hub.build import build_all
    from hub.catalog import CatalogStore
    from hub.config import load_settings
    from hub.errors import HubError
    from hub.plugins import load_plugins

    if home is not None:
        store = CatalogStore(load_settings(home).database_url)
        try:
            store.resolve(MODEL)
            return home
        except HubError:
            pass
        finally:
            store.close()
    tmp = Path(tempfile.mkdtemp(prefix="auth-overhead-"))
    print(f"building {MODEL} (quick) in {tmp} ...", flush=True)
    settings = load_settings(tmp)
    store = CatalogStore(settings.database_url)
    build_all(
        load_plugins().recipes(), store, ArtifactStore(settings.artifacts_dir), only=[MODEL],
        quick=True,
    )  # fmt: skip
    store.close()
    return tmp


BARE_PATH = "/v1/models/{ref}/bare-predict"


def add_bare_route() -> None:
    """``POST /v1/models/{ref}/bare-predict``: the predict route as it was before identities and the
    audit (the same body and runtime dependency; no identity, no ``track()``), just before
    the real predict route. Call it before the app is made."""
    from fastapi import Request
    from fastapi.responses import Response

    from hub.service.deps import RuntimeDep
    from hub.service.routes_models import _json
    from hub.service.schemas import ModelRef, PredictRequest

    async def bare_predict(
        ref: ModelRef, body: PredictRequest, request: Request, runtime: RuntimeDep
    ) -> Response:
        return _json(
            await runtime.predict_async(
                ref, body.inputs, body.params, disconnected=request.is_disconnected
            )
        )

    # real types, not the strings of ``from __future__ import annotations``: FastAPI reads them
    bare_predict.__annotations__ = {
        "ref": ModelRef,  # the path's pattern, as the real route checks it
        "body": PredictRequest,
        "request": Request,
        "runtime": RuntimeDep,
        "return": Response,
    }
    # beside the real predict route, in the models router, so that routing to either costs
    # the same (the router tries each route in turn: about 0.25 ms for those before predict)
    from hub.service import routes_models

    prefix = routes_models.router.prefix
    routes_models.router.add_api_route(
        BARE_PATH.removeprefix(prefix), bare_predict, methods=["POST"]
    )
    routes = routes_models.router.routes
    at = next(i for i, r in enumerate(routes) if r.path == "/v1/models/{ref}/predict")
    routes.insert(at, routes.pop())


class Driver:
    """Calls an ASGI app in process: one POST, the status back; ``answered`` is the
    ``perf_counter()`` when the last part of the response was sent (what a client waits
    for: a server writes it to the socket then), before the app's work after it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.answered = 0.0

    async def post(self, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"127.0.0.1"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        sent = False
        status = 0

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif not message.get("more_body", False):
                self.answered = time.perf_counter()

        await self.app(scope, receive, send)
        return status


MODES = ("bare", "auth only", "auth + audit")
MEASURES = ("wall", "outside", "returned", "loop", "cpu")
Samples = dict[str, dict[str, list[float]]]  # mode -> measure -> seconds per request


async def measure(n: int, block: int, repeat: int, home: Path) -> list[Samples]:
    """``repeat`` runs of ``n`` requests per mode, modes in turn; the samples of each run."""
    from hub.auth import keys, users
    from hub.auth.quotas import set_user_quota
    from hub.config import load_settings
    from hub.runtime import Runtime
    from hub.service.app import create_app
    from hub.service.deps import gate_of
    from hub.service.routes_audit import audit_of, quotas_of

    settings = load_settings(home)
    runtime = Runtime(settings)
    try:
        users.create_user(runtime.store, "bench")
    except Exception:  # noqa: BLE001 - made by an earlier run
        pass
    _, token = keys.create_key(runtime.store, "bench", "read,predict")
    # counted and checked like any key, but never refused: limits it never reaches
    set_user_quota(runtime.store, "bench", requests_per_minute=10**9, items_per_day=10**15)
    add_bare_route()
    app = create_app(runtime, warm=False)
    runtime.predictor(runtime.resolve(MODEL))  # warm
    inside: list[float] = []
    predict_async = runtime.predict_async

    async def timed_predict(*args: Any, **kwargs: Any) -> Any:  # the model's own time
        t = time.perf_counter()
        try:
            return await predict_async(*args, **kwargs)
        finally:
            inside.append(time.perf_counter() - t)

    runtime.predict_async = timed_predict  # type: ignore[method-assign]
    driver = Driver(app)
    path = f"/v1/models/{MODEL}/predict"
    bare_path = BARE_PATH.replace("{ref}", MODEL)
    keyed = [(b"authorization", f"Bearer {token}".encode())]
    runs: list[Samples] = []

    async def run(samples: Samples, mode: str, count: int) -> None:
        bare = mode == "bare"
        app.state.audit_bypass = mode != "auth + audit"
        got = samples[mode]
        for _ in range(count):
            t, c, lt = time.perf_counter(), time.process_time(), time.thread_time()
            status = await driver.post(bare_path if bare else path, BODY, [] if bare else keyed)
            done = time.perf_counter()
            cpu, loop_cpu = time.process_time() - c, time.thread_time() - lt
            assert status == 200, status
            wall = driver.answered - t
            got["wall"].append(wall)
            got["outside"].append(wall - inside.pop())
            got["returned"].append(done - t)
            got["loop"].append(loop_cpu)
            got["cpu"].append(cpu)

    def empty() -> Samples:
        return {
            mode: {k: [] for k in ("wall", "outside", "returned", "loop", "cpu")} for mode in MODES
        }

    async with app.router.lifespan_context(app):
        warm = empty()
        for mode in MODES:  # warm every path (first key check, first thread, caches)
            await run(warm, mode, 100)
        for _ in range(repeat):
            samples = empty()
            for i in range(0, n, block):  # rotate the order: drift hits every mode alike
                k = (i // block) % len(MODES)
                for mode in MODES[k:] + MODES[:k]:
                    await run(samples, mode, min(block, n - i))
            runs.append(samples)
        app.state.audit_bypass = False
        layer = await layer_cost(app, gate_of(app).caller(token, address="127.0.0.1"))
        audit = audit_of(runtime)
        counters = quotas_of(app).counters
    audit.flush()
    print(f"audit rows written by this run: {audit.written}")
    trips = getattr(counters, "round_trips", None)
    if trips is not None:
        print(f"quota counters in Redis: {trips} requests of {n * repeat} waited for Redis")
    print(
        f"the audit + quota layer alone (AuditMiddleware and track() around an empty ASGI "
        f"app, CPU time of the event loop's thread, median of blocks of 1000): "
        f"{layer * 1e6:.1f} us per request"
    )
    return runs


async def layer_cost(app: Any, caller: Any, blocks: int = 20, size: int = 1000) -> float:
    """Seconds per request added by :class:`AuditMiddleware` + :func:`track` (resolve, cost,
    quota, the audit row queued) around an ASGI app that does nothing."""
    from hub.service.routes_audit import AuditMiddleware, track

    start = {"type": "http.response.start", "status": 200, "headers": []}
    body = {"type": "http.response.body", "body": b"{}"}

    async def plain(scope: dict, receive: Any, send: Any) -> None:
        await send(start)
        await send(body)

    async def tracked(scope: dict, receive: Any, send: Any) -> None:
        track("predict", ref=MODEL, inputs=["CCO"])
        await send(start)
        await send(body)

    async def send(message: dict) -> None:
        return None

    async def receive() -> dict:
        return {"type": "http.request", "body": BODY, "more_body": False}

    def scope() -> dict:
        return {"type": "http", "method": "POST", "path": "/x", "app": app, "headers": [],
                "client": ("127.0.0.1", 1), "state": {"caller": caller}}  # fmt: skip

    audited = AuditMiddleware(tracked)
    per: dict[str, list[float]] = {"plain": [], "audited": []}
    for _ in range(blocks):
        for name, asgi in (("plain", plain), ("audited", audited)):
            t = time.thread_time()
            for _ in range(size):
                await asgi(scope(), receive, send)
            per[name].append((time.thread_time() - t) / size)
    return statistics.median(per["audited"]) - statistics.median(per["plain"])


def report(runs: list[Samples], n: int) -> None:
    """Per run and over the runs: medians and p90 per mode, and the added medians."""
    what = {
        "wall": "latency",
        "outside": "latency outside the model",
        "returned": "until the app returns",
        "loop": "CPU time of the event loop",
        "cpu": "CPU time of the process",
    }
    added: dict[str, dict[str, list[float]]] = {m: {"auth": [], "full": []} for m in what}
    for r, samples in enumerate(runs, 1):
        print(f"== run {r} of {len(runs)} ({n} requests per mode)")
        for measure, title in what.items():
            medians = {mode: statistics.median(samples[mode][measure]) for mode in MODES}
            cells = []
            for mode in MODES:
                q = statistics.quantiles(samples[mode][measure], n=10)
                cells.append(f"{mode} {medians[mode] * 1e3:.3f} ms (p90 {q[-1] * 1e3:.3f})")
            auth = medians["auth only"] - medians["bare"]
            full = medians["auth + audit"] - medians["bare"]
            added[measure]["auth"].append(auth)
            added[measure]["full"].append(full)
            print(f"  {title}: " + "; ".join(cells))
            print(f"    added: authentication {auth * 1e6:.0f} us, "
                  f"authentication + audit + quota {full * 1e6:.0f} us")  # fmt: skip
    print(f"== added median latency, median over {len(runs)} runs (target: at most 200 us)")
    for measure, title in what.items():
        auth = statistics.median(added[measure]["auth"]) * 1e6
        full = statistics.median(added[measure]["full"]) * 1e6
        print(f"{title:>28}: authentication {auth:.0f} us, "
              f"authentication + audit + quota {full:.0f} us")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="requests per mode and run")
    parser.add_argument("--block", type=int, default=1, help="requests per mode in turn")
    parser.add_argument("--repeat", type=int, default=1, help="runs (medians over them)")
    parser.add_argument("--home", type=Path, default=os.environ.get("HUB_HOME"))
    parser.add_argument("--redis", help="quota counters in this Redis (redis://host:port/db)")
    args = parser.parse_args()
    prefix = None
    if args.redis:
        prefix = f"hub-bench-{os.getpid()}:"
        os.environ["HUB_REDIS_URL"] = args.redis
        os.environ["HUB_REDIS_PREFIX"] = prefix
    home = hub_home(Path(args.home) if args.home else None)
    try:
        runs = asyncio.run(measure(args.n, args.block, args.repeat, home))
    finally:
        if args.redis:
            import redis

            client = redis.Redis.from_url(args.redis)
            found = list(client.scan_iter(f"{prefix}*"))
            if found:
                client.delete(*found)
    report(runs, args.n)


if __name__ == "__main__":
    main()
