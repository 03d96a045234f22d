"""The ``hub`` command: serve, build, models, predict, plugins."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub import cli_admin, cli_audit, cli_cards, cli_packs, cli_publish, cli_screen, cli_train
from hub.cli_support import console, err, fail
from hub.config import load_settings
from hub.errors import HubError

app = typer.Typer(
    help="A model hub for chemistry and physics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Browse the catalog.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.callback()(cli_admin.global_options)  # hub --api-key / HUB_API_KEY
app.add_typer(cli_admin.keys_app, name="keys")
app.add_typer(cli_admin.users_app, name="users")
app.add_typer(cli_admin.groups_app, name="groups")
app.add_typer(cli_audit.audit_app, name="audit")
app.add_typer(cli_audit.quotas_app, name="quotas")
models_app.command("visibility")(cli_admin.model_visibility)
cli_cards.register(models_app)  # hub models show, hub models params
cli_publish.register(app)  # hub publish
cli_train.register(app)  # hub train
cli_packs.register(app)  # hub export, hub import
cli_screen.register(app)  # hub screen


def _runtime():  # noqa: ANN202 - imported lazily: TensorFlow is slow to import
    from hub.runtime import Runtime

    return Runtime(load_settings())


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
    import threading

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


def _start_engine(settings: Any, http_workers: int) -> None:
    """Heavy work on Dask. The embedded cluster (unless ``HUB_DASK_SCHEDULER`` names one) is
    started by the first screen, not here: a hub that never screens starts no worker; with
    several HTTP worker processes it is started now and its address exported, so that they
    all share one. Then the screen supervisor, which resumes the screens a killed hub left
    behind."""
    from hub import engine
    from hub.screening.driver import supervisor_for

    if not settings.dask_scheduler and http_workers > 1:
        address = engine.local_cluster(settings.dask_workers).scheduler_address
        os.environ["HUB_DASK_SCHEDULER"] = address
        settings = settings.with_(dask_scheduler=address)
    supervisor_for(settings)


def _stop_engine() -> None:
    from hub import engine
    from hub.screening.driver import stop_supervisors

    stop_supervisors()
    engine.shutdown()


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[
        int | None, typer.Option(help="HTTP worker processes (default: one per core)")
    ] = None,
    job_workers: Annotated[int, typer.Option(help="job worker processes")] = 1,
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
        bool, typer.Option(help="run screens on Dask (embedded cluster or HUB_DASK_SCHEDULER)")
    ] = True,
    jobs_engine: Annotated[
        str | None,
        typer.Option(
            envvar="HUB_JOBS_ENGINE",
            help="where jobs run: 'processes' (the hub's own job workers, --job-workers) or "
            "'dask' (the Dask cluster of the screens); default: dask when HUB_DASK_SCHEDULER "
            "names a cluster, else processes",
        ),
    ] = None,
) -> None:
    """Serve the catalog, the prediction API, the jobs and the screens (OpenAPI docs at
    /docs). Screens run on Dask: an embedded LocalCluster (one worker process per core), or
    the cluster at HUB_DASK_SCHEDULER.

    SIGTERM and SIGINT stop it cleanly: the HTTP server drains, job workers give their
    running jobs back to the queue and exit, screens stay resumable, the background build
    unwinds; then the process ends as the signal would have ended it."""
    import uvicorn

    from hub.jobs import JobSupervisor
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
    supervisor: JobSupervisor | None = None
    dispatcher: Any = None
    stopped_by: int | None = None
    jobs_engine = jobs_engine or ("dask" if settings.dask_scheduler else "processes")
    if jobs_engine not in ("processes", "dask"):
        raise typer.BadParameter("--jobs-engine is 'processes' or 'dask'")
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
        if job_workers and jobs_engine == "dask":
            from hub.jobs.dask_runner import JobDispatcher

            dispatcher = JobDispatcher(settings).start()
        elif job_workers:
            supervisor = JobSupervisor(settings, job_workers).start()
        if dask:
            _start_engine(settings, workers)
        config = uvicorn.Config(
            "hub.service.app:create_app",
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
        if supervisor is not None:
            err.print("stopping the job workers (running jobs go back to the queue)")
            supervisor.stop()
        if dispatcher is not None:  # an embedded cluster stops with us: give its jobs back
            dispatcher.stop(give_back=not settings.dask_scheduler)
        if dask or dispatcher is not None:
            _stop_engine()
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


@app.command()
def worker(
    n: Annotated[int, typer.Option(help="worker processes")] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="join this Dask scheduler (tcp://host:8786) as a worker of screens and "
            "jobs, with the hub and its plugins preloaded"
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="the Dask worker's name")] = None,
) -> None:
    """Run workers only. With --scheduler: a Dask worker on this host for the cluster the hub
    submits to (HUB_DASK_SCHEDULER); it needs the catalog database and the artifact store
    (HUB_ARTIFACTS_URL) the hub uses. Without: job workers beside a `hub serve
    --job-workers 0`, on this or another host sharing the catalog database and artifact
    folder. SIGTERM or SIGINT stops them: their running jobs go back to the queue."""
    if scheduler:
        _dask_worker(scheduler, n, name)
        return
    from hub.jobs import JobSupervisor

    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    supervisor: JobSupervisor | None = None
    stopped_by: int | None = None
    try:
        supervisor = JobSupervisor(load_settings(), n).start()
        while True:
            time.sleep(3600)
    except _Stop as exc:
        stopped_by = exc.signum
    except KeyboardInterrupt:
        stopped_by = signal.SIGINT
    finally:
        signal.signal(signal.SIGTERM, _ignore_further)
        signal.signal(signal.SIGINT, _ignore_further)
        if supervisor is not None:
            supervisor.stop()
    _exit_like(stopped_by)


_stopping: list[int] = []  # the signal that asked a build to stop, once one has


def _interrupt(signum: int, frame: object) -> None:
    _stopping.append(signum)
    raise KeyboardInterrupt


def _stop_with_parent(pid: int) -> None:
    """Stop this build (cleanly, through SIGTERM) when process ``pid`` is gone: a server
    killed by a signal cannot stop its background build itself (PR_SET_PDEATHSIG on Linux,
    and a thread watching getppid() everywhere)."""
    import threading

    from hub.jobs.runner import set_parent_death_signal

    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != pid:
        os.kill(os.getpid(), signal.SIGTERM)

    def watch() -> None:
        while os.getppid() == pid:
            time.sleep(2)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="stop-with-parent", daemon=True).start()


def _parse_sets(sets: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in sets:
        key, sep, raw = item.partition("=")
        model, dot, param = key.rpartition(".")
        if not sep or not dot:
            raise typer.BadParameter(f"--set {item!r}: expected MODEL.PARAM=VALUE")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out.setdefault(model, {})[param] = value
    return out


@app.command()
def build(
    only: Annotated[list[str] | None, typer.Argument(help="models to build")] = None,
    quick: Annotated[bool, typer.Option(help="small training sizes (tests, CI)")] = False,
    force: Annotated[bool, typer.Option(help="rebuild even if up to date")] = False,
    lines: Annotated[bool, typer.Option(help="a line per step, not live bars")] = False,
    parent_pid: Annotated[int | None, typer.Option(hidden=True)] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="override a recipe parameter: MODEL.PARAM=VALUE"),
    ] = None,
) -> None:
    """Train and register the built-in models; skip those already built from the same recipe,
    parameters and data."""
    from hub.artifacts import ArtifactStore
    from hub.build import build_all
    from hub.catalog import CatalogStore
    from hub.plugins import load_plugins

    settings = load_settings()
    store = CatalogStore(settings.database_url)
    artifacts = ArtifactStore(settings.artifacts_dir)
    artifacts.sweep(older_than_s=3600)  # a job worker may be writing a result right now
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops a build as cleanly as Ctrl-C
    if parent_pid is not None:
        _stop_with_parent(parent_pid)
    columns = (
        TextColumn("{task.description:<36}"),
        BarColumn(),
        TextColumn("{task.fields[msg]}"),
        TimeElapsedColumn(),
    )
    # A terminal gets live bars; a log (CI, `make serve > log`) gets one line per step.
    live = console.is_terminal and not lines
    with Progress(*columns, console=console, transient=False, disable=not live) as bar:
        tasks: dict[str, Any] = {}
        said: dict[str, str] = {}

        def progress(name: str, fraction: float, message: str) -> None:
            if not live:
                if said.get(name) != message:
                    said[name] = message
                    stamp = time.strftime("%H:%M:%S")
                    console.print(f"{stamp} {name:<36} {fraction:>4.0%}  {message}", soft_wrap=True)
                return
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=1.0, msg="")
            bar.update(tasks[name], completed=fraction, msg=message[:60])

        try:
            outcomes = build_all(
                load_plugins().recipes(),
                store,
                artifacts,
                only=only or (),
                quick=quick,
                force=force,
                overrides=_parse_sets(set_ or []),
                progress=progress,
            )
        except HubError as exc:
            fail(exc)
        except (KeyboardInterrupt, SystemError) as exc:
            # Interrupted inside TensorFlow's C code, the KeyboardInterrupt can come out as a
            # SystemError; only after a stop signal is that an interruption.
            if isinstance(exc, SystemError) and not _stopping:
                raise
            err.print("build interrupted: models registered so far are kept; `hub build` goes on")
            raise typer.Exit(130) from None
    for o in outcomes:
        state = "[green]built[/green]" if o.built else "up to date"
        console.print(f"{o.version.ref:<40} {state}")


@models_app.command("list")
def models_list(
    domain: str | None = None, task: str | None = None, tag: str | None = None, q: str | None = None
) -> None:
    """List the models in the catalog."""
    from hub.catalog import CatalogStore

    store = CatalogStore(load_settings().database_url)
    models, _ = store.list_models(domain=domain, task=task, tag=tag, q=q, limit=1000)
    table = Table("name", "task", "input", "outputs", "title")
    for m in models:
        table.add_row(
            m.name,
            m.task,
            m.input_type,
            ", ".join(f"{o.name} [{o.unit}]" for o in m.outputs),
            m.title,
        )
    console.print(table)


@models_app.command("alias")
def models_alias(name: str, alias: str, version: int) -> None:
    """Point ALIAS of model NAME at VERSION."""
    from hub.catalog import CatalogStore

    try:
        a = CatalogStore(load_settings().database_url).set_alias(name, alias, version)
    except HubError as exc:
        fail(exc)
    console.print(f"{a.model}@{a.alias} -> {a.version}")


def _maybe_json(text: str) -> Any:
    """A JSON object or list given on the command line (an atoms object, say), else the text;
    a SMILES such as ``[Na+].[Cl-]`` is not valid JSON and stays a string."""
    if text[:1] in "{[":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return text


@app.command()
def predict(
    ref: str,
    inputs: Annotated[list[str] | None, typer.Argument()] = None,
    file: Annotated[Path | None, typer.Option(help="a .csv or .smi file")] = None,
    column: str = "smiles",
    url: Annotated[str | None, typer.Option(help="a running hub; default: local")] = None,
    params: Annotated[
        str,
        typer.Option(help="JSON object of the model's parameters (list: hub models params REF)"),
    ] = "{}",
) -> None:
    """Predict INPUT... (or the inputs of --file) with model REF; prints JSON lines. An input
    that is a JSON object or list (an atoms object) is sent as JSON."""
    from hub.inputs import read_inputs

    try:
        batch: list[Any] = [_maybe_json(i) for i in inputs or []]
        if file is not None:
            batch += read_inputs(file, column=column)
        if not batch:
            raise typer.BadParameter("give inputs or --file")
        extra = json.loads(params)
        if url:
            from hub.client import HubClient

            with HubClient(url) as client:
                result = client.predict(ref, batch, params=extra)
            model, version, outputs = result.model, result.version, result.outputs
        else:
            result = _runtime().predict(ref, batch, extra)
            model, version, outputs = result.model, result.version, result.outputs
    except HubError as exc:
        fail(exc)
    for raw, out in zip(batch, outputs, strict=True):
        print(json.dumps({"model": model, "version": version, "input": raw, **out}))


@app.command()
def plugins() -> None:
    """List the installed domain plugins."""
    from hub.plugins import load_plugins

    console.print_json(json.dumps(load_plugins().describe()))


if __name__ == "__main__":
    app()
