"""``hub serve`` and ``hub worker``, and the process handling they need (signals, the
embedded Dask cluster, children that stop with their parent); registered in :mod:`hub.cli` by
:func:`register`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli_support import err, fail
from hub.config import load_settings
from hub.errors import HubError
from hub.lifeline import die_with_parent


class _Stop(SystemExit):
    """Raised in the main thread by SIGTERM or SIGINT, so that ``finally`` blocks run."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop(signum)


def _ignore_further(signum: int, frame: object) -> None:
    err.print(f"already stopping (signal {signum}): workers are being stopped")


def _exit_like(signum: int | None) -> None:
    """End the process as the signal that stopped it would have (a clean stop for systemd,
    Docker and shells), now that everything is shut down."""
    if signum is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)


def _startup_sweep(settings: Any) -> None:
    """Remove what killed builds and lost job results left behind (B25): temporary build
    folders of dead builders, and artifacts no version and no job refers to, both only when
    older than their grace period."""
    from hub.artifacts import ArtifactStore
    from hub.build import referenced_artifacts, sweep_build_dirs
    from hub.catalog import CatalogStore

    try:
        dirs = sweep_build_dirs()
        store = CatalogStore(settings.database_url)
        try:
            artifacts = ArtifactStore(settings.artifacts_dir)
            artifacts.sweep(older_than_s=3600)
            n, size = artifacts.sweep_orphans(referenced_artifacts(store))
        finally:
            store.close()
    except (HubError, OSError) as exc:
        err.print(f"[yellow]start-up sweep skipped[/yellow]: {exc}")
        return
    if dirs or n:
        err.print(
            f"swept {dirs} leftover build folder(s) and {n} orphan artifact(s) "
            f"({size / 1e6:.1f} MB)"
        )


def _announce_builds(settings: Any, only: list[str]) -> None:
    """Put every model the background build will build in the catalog now, each with a
    queued build record and its expected time: predict answers `version_not_found` "being
    built" from the first second, never `model_not_found`."""
    from hub.build import announce_builds
    from hub.catalog import CatalogStore
    from hub.plugins import load_plugins

    store = CatalogStore(settings.database_url)
    try:
        planned = announce_builds(load_plugins().recipes(), store, only=only)
    except HubError as exc:
        fail(exc)
    finally:
        store.close()
    if planned:
        minutes = sum(j.params.get("minutes", 0) for j in planned)
        err.print(f"{len(planned)} model(s) queued for building (about {minutes:.0f} min in all)")


def _c_signal_handler(signum: int) -> int | None:
    """The address of the C-level handler of ``signum`` (Linux x86-64/arm64 glibc), or None."""
    import ctypes

    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        buf = ctypes.create_string_buffer(256)  # struct sigaction; sa_handler comes first
        if libc.sigaction(signum, None, buf) != 0:
            return None
    except (OSError, AttributeError):
        return None
    return int.from_bytes(buf.raw[: ctypes.sizeof(ctypes.c_void_p)], sys.byteorder)


def _watch_signal_handlers(every_s: float = 5.0) -> None:
    """Diagnostics for B30 (a server once ignored SIGINT): ``kill -USR1`` dumps every
    thread's stack to stderr, and a native library replacing Python's C-level SIGINT or
    SIGTERM handler is reported (once) as soon as it happens."""
    import faulthandler

    faulthandler.register(signal.SIGUSR1, all_threads=True)
    expected = {sig: _c_signal_handler(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def watch() -> None:
        while expected:
            time.sleep(every_s)
            for sig, addr in list(expected.items()):
                now = _c_signal_handler(sig)
                if addr is not None and now is not None and now != addr:
                    err.print(
                        f"[red]warning[/red]: native code replaced the {signal.Signals(sig).name} "
                        "handler: the hub may no longer stop on it; stacks follow (B30)"
                    )
                    faulthandler.dump_traceback(all_threads=True)
                    del expected[sig]

    threading.Thread(target=watch, name="signal-watch", daemon=True).start()


def _start_engine(settings: Any, http_workers: int, job_slots: int | None) -> Any:
    """Heavy work on Dask. The embedded cluster (unless ``HUB_DASK_SCHEDULER`` names one) is
    started by the first screen or job, not here: a hub that never screens nor runs a job
    starts no worker; with several HTTP worker processes it is started now and its address
    exported, so that they all share one. Then the screen supervisor, which resumes the
    screens a killed hub left behind, and the job dispatcher (unless ``job_slots`` is 0);
    returns the dispatcher."""
    from hub import engine
    from hub.jobs import JobDispatcher
    from hub.screening.driver import supervisor_for

    if not settings.dask_scheduler and http_workers > 1:
        address = engine.local_cluster(settings.dask_workers).scheduler_address
        os.environ["HUB_DASK_SCHEDULER"] = address
        settings = settings.with_(dask_scheduler=address)
    supervisor_for(settings)
    if job_slots == 0:
        return None
    return JobDispatcher(settings, slots=job_slots or 0).start()


def _stop_engine(dispatcher: Any, remote: bool) -> None:
    """Stop the job dispatcher (on the embedded cluster, which stops with the hub, its
    running jobs go back to the queue; on a remote cluster they run on), the screen
    supervisor (screens stay resumable), then the embedded cluster."""
    from hub import engine
    from hub.screening.driver import stop_supervisors

    if dispatcher is not None:
        dispatcher.stop(give_back=not remote)
    stop_supervisors()
    engine.shutdown()


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[
        int | None, typer.Option(help="HTTP worker processes (default: one per core)")
    ] = None,
    job_slots: Annotated[
        int | None,
        typer.Option(
            "--job-slots",
            "--job-workers",
            help="most jobs this hub runs at once on the Dask cluster (default: one per "
            "worker thread); 0: this hub runs no jobs (another hub on the catalog does)",
        ),
    ] = None,
    build: Annotated[
        bool,
        typer.Option(
            help="build the built-in models that are not built yet in a background process, "
            "quickest first; each is served as soon as it is registered"
        ),
    ] = False,
    build_only: Annotated[
        list[str] | None,
        typer.Option("--build-only", help="build only these models (implies --build)"),
    ] = None,
    dask: Annotated[
        bool,
        typer.Option(
            help="run screens and jobs on Dask (embedded cluster or HUB_DASK_SCHEDULER); "
            "--no-dask serves predictions and the catalog only"
        ),
    ] = True,
) -> None:
    """Serve the catalog, the prediction API, the jobs and the screens (OpenAPI docs at
    /docs). Jobs and screens run on Dask: an embedded LocalCluster (one worker process per
    core, started by the first job or screen), or the cluster at HUB_DASK_SCHEDULER.

    SIGTERM and SIGINT stop it cleanly: the HTTP server drains, running jobs go back to the
    queue (on a remote cluster they run on), the embedded cluster's workers exit, screens stay
    resumable, the background build unwinds; then the process ends as the signal would have
    ended it."""
    import uvicorn

    from hub.service.nodelay import PROTOCOL

    workers = workers or _cores()
    os.environ.setdefault("HUB_HOME", str(Path.cwd()))
    os.environ.setdefault("HUB_SERVE_HOST", host)  # an allowed Host name (HUB_ALLOWED_HOSTS)
    settings = load_settings()
    # uvicorn restores these handlers after its graceful shutdown and re-raises the signal it
    # caught: ours turns it into an exception, so the `finally` below stops the workers.
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    _watch_signal_handlers()
    builder: subprocess.Popen | None = None
    dispatcher: Any = None
    stopped_by: int | None = None
    try:
        _startup_sweep(settings)
        if build or build_only:
            _announce_builds(settings, build_only or [])
            # The build runs in its own process: training must not hold the server's GIL, and
            # the catalog (SQLite in WAL mode, or PostgreSQL) takes its atomic writes while
            # we serve.
            builder = subprocess.Popen(
                [sys.executable, "-m", "hub", "build", "--lines", f"--parent-pid={os.getpid()}"]
                + (build_only or [])
            )
        if dask:
            dispatcher = _start_engine(settings, workers, job_slots)
        os.environ["HUB_SERVE_PID"] = str(os.getpid())  # its HTTP workers stop with it
        config = uvicorn.Config(
            "hub.cli_serve:http_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            # uvloop + httptools with TCP_NODELAY (docs/performance.md)
            loop="uvloop",
            http=PROTOCOL,
            # a worker importing TensorFlow on a busy machine may not answer the supervisor's
            # ping for a while: do not kill and restart it for that
            timeout_worker_healthcheck=120,
        )
        stopped_by = _run_http(config)
    except _Stop as exc:
        stopped_by = exc.signum
    except KeyboardInterrupt:
        stopped_by = signal.SIGINT
    finally:
        signal.signal(signal.SIGTERM, _ignore_further)
        signal.signal(signal.SIGINT, _ignore_further)
        if dask:
            if dispatcher is not None and not settings.dask_scheduler:
                err.print("stopping the job workers (running jobs go back to the queue)")
            _stop_engine(dispatcher, remote=bool(settings.dask_scheduler))
        if builder is not None and builder.poll() is None:
            # `hub build` unwinds on SIGTERM: it removes its work folder and registers nothing
            # half-made; the next `hub build` carries on where it stopped.
            err.print("stopping the background build")
            builder.terminate()
            try:
                builder.wait(60)
            except subprocess.TimeoutExpired:
                builder.kill()
    _exit_like(stopped_by)


def http_app() -> Any:
    """The app of `hub serve` (uvicorn's factory). In an HTTP worker process of a `hub serve`
    with several, the worker also stops when that process is gone, even killed by SIGKILL
    (which gives it no chance to stop its workers)."""
    from hub.service.app import create_app

    parent = os.environ.get("HUB_SERVE_PID", "")
    if parent.isdigit() and int(parent) != os.getpid():
        die_with_parent(int(parent), check_s=2.0)
    return create_app()


def _run_http(config: Any) -> int | None:
    """Serve ``config`` with uvicorn: one process, or a supervisor of ``config.workers``
    processes sharing the socket; returns the signal that stopped the supervisor (uvicorn's
    single server raises it again itself, caught by ``serve``)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    server = uvicorn.Server(config)
    if config.workers <= 1:
        server.run()
        return None
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    received: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):  # uvicorn's handlers queue it; note it too
        queue = signal.getsignal(sig)

        def note(signum: int, frame: Any, queue: Any = queue) -> None:
            received.append(signum)
            queue(signum, frame)

        signal.signal(sig, note)
    supervisor.run()
    return received[0] if received else None


def _cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _dask_worker(scheduler: str, n: int, name: str | None) -> None:
    """Become a Dask worker of ``scheduler`` (``n`` processes, one thread each) with the hub
    and its plugins preloaded; the process is replaced by ``dask worker``."""
    from hub.engine.cluster import WORKER_ENV

    for key, value in WORKER_ENV.items():
        os.environ.setdefault(key, value)
    args = [sys.executable, "-m", "distributed.cli.dask_worker", scheduler]
    args += ["--nthreads", "1", "--nworkers", str(max(n, 1)), "--preload", "hub.engine.preload"]
    if name:
        args += ["--name", name]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, args)


def worker(
    n: Annotated[int, typer.Option(help="worker processes")] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            envvar="HUB_DASK_SCHEDULER",
            help="the Dask scheduler (tcp://host:8786) to join as a worker of screens and "
            "jobs, with the hub and its plugins preloaded",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="the Dask worker's name")] = None,
) -> None:
    """Run Dask workers on this host for the cluster the hub submits its jobs and screens to
    (HUB_DASK_SCHEDULER); they need the catalog database and the artifact store
    (HUB_ARTIFACTS_URL) the hub uses. SIGTERM stops them: a running job goes back to the
    queue."""
    if not scheduler:
        fail(
            HubError(
                "hub worker joins a Dask cluster: give --scheduler tcp://host:8786 or set "
                "HUB_DASK_SCHEDULER (without one, `hub serve` runs jobs on its embedded cluster)"
            )
        )
    _dask_worker(scheduler, n, name)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(worker)
