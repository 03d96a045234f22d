"""``HubClient``: the hub's HTTP API as Python methods, one per resource and verb.

    >>> from hub.client import HubClient
    >>> hub = HubClient("http://127.0.0.1:8000")
    >>> hub.predict("chemistry.solubility", ["CCO"]).outputs[0]["value"]   # doctest: +SKIP

With a key (``api_key=...``, else the ``HUB_API_KEY`` environment variable), every request
carries ``Authorization: Bearer <key>``: private models, jobs, aliases need one.

Non-2xx answers become the hub's typed errors (:mod:`hub.errors`) carrying the server's code
and message. Pass ``transport=httpx.ASGITransport(app)`` (or any httpx transport) to talk to an
app without a network.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import httpx

from hub.client.atoms import atoms_from_extxyz, batch_of, decode_atoms, with_results
from hub.client.calculator import HubCalculator
from hub.client.calculator import calculate as calculate_with
from hub.client.jobs import JobHandle, submit
from hub.client.predictions import Predictions
from hub.client.transport import Transport
from hub.inputs import read_inputs

if TYPE_CHECKING:
    from ase import Atoms

__all__ = ["HubClient", "Predictions"]


# -- job results as ASE objects --------------------------------------------------------------
def _relaxed(res: dict[str, Any]) -> Atoms:
    """The relaxed structure with its SinglePointCalculator; ``info``: fmax, converged, steps
    (not the energy: the calculator holds it, and ASE refuses to write a structure to extxyz
    whose info repeats one of its calculator's results)."""
    final = with_results(decode_atoms(res["atoms"]), res["results"])
    final.info.update(fmax=res["fmax"], converged=res["converged"], steps=res["steps"])
    return final


def _trajectory(res: dict[str, Any]) -> tuple[list[Atoms], list[float]]:
    return atoms_from_extxyz(res["extxyz"]), res["energies"]


def _band(res: dict[str, Any]) -> dict[str, Any]:
    res["images"] = [with_results(decode_atoms(i), i["results"]) for i in res["images"]]
    return res


def _plain(res: dict[str, Any]) -> dict[str, Any]:
    return res


def _with_atoms(res: dict[str, Any]) -> dict[str, Any]:
    res["atoms"] = decode_atoms(res["atoms"])
    return res


R = TypeVar("R", covariant=True)


class JobMethod(Protocol[R]):
    """How :meth:`HubClient.relax`, ``eos``, ``md``, ``vibrations`` and ``thermo`` are called
    (for type checkers: :func:`_job` makes them)."""

    def __call__(
        self,
        atoms: Atoms | dict[str, Any] | str,
        *,
        model: str,
        wait: bool = True,
        progress: bool = True,
        **params: Any,
    ) -> R | JobHandle: ...


def _job(
    task: str,
    doc: str,
    done: Callable[[dict[str, Any]], R] = _plain,  # type: ignore[assignment]
) -> JobMethod[R]:
    """The :class:`HubClient` method of a job on one structure: submit ``task`` with the
    keyword ``params``; with ``wait``, its result through ``done`` (ASE objects out; its
    return annotation is the method's), else the job handle."""

    def method(  # noqa: ANN202 - the return annotation is done's, set below
        self,  # noqa: ANN001 - HubClient, unannotated as in the other methods
        atoms: Atoms | dict[str, Any] | str,
        *,
        model: str,
        wait: bool = True,
        progress: bool = True,
        **params: Any,
    ):
        return self._task(model, task, atoms, wait, progress, params, done)

    method.__name__, method.__qualname__, method.__doc__ = task, f"HubClient.{task}", doc
    method.__annotations__["return"] = f"{done.__annotations__['return']} | JobHandle"
    return cast("JobMethod[R]", method)


class HubClient:
    """A persistent connection to one hub (a :class:`~hub.client.transport.Transport`), with
    one method per resource and verb."""

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000",
        *,
        timeout_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        headers: dict[str, str] | None = None,
        api_key: str | None = None,
    ) -> None:
        self._transport = Transport(
            url, timeout_s=timeout_s, transport=transport, headers=headers, api_key=api_key
        )
        self.url = self._transport.url

    def __repr__(self) -> str:  # never the key
        return f"HubClient({self.url!r})"

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    # -- catalog --------------------------------------------------------------------------
    def models(
        self,
        *,
        domain: str | None = None,
        task: str | None = None,
        tag: str | None = None,
        q: str | None = None,
    ) -> list[dict[str, Any]]:
        """Models in the catalog matching every given filter."""
        params = {
            k: v
            for k, v in {"domain": domain, "task": task, "tag": tag, "q": q}.items()
            if v is not None
        }
        return self._transport.request("GET", "/v1/models", params=params)["data"]

    def model(self, name: str) -> dict[str, Any]:
        """The model card of ``name`` (versions, metrics, aliases)."""
        return self._transport.request("GET", f"/v1/models/{name}")

    def set_alias(self, name: str, alias: str, version: int) -> dict[str, Any]:
        return self._transport.request(
            "PUT", f"/v1/models/{name}/aliases/{alias}", json={"version": version}
        )

    def set_visibility(
        self, name: str, visibility: str | None = None, *, owner: str | None = None
    ) -> dict[str, Any]:
        """Make ``name`` ``public``, ``private`` or ``group:<name>`` (its owner or an admin);
        ``owner`` gives it to another user (admins only)."""
        body = {k: v for k, v in {"visibility": visibility, "owner": owner}.items() if v}
        return self._transport.request("PUT", f"/v1/models/{name}/visibility", json=body)

    def me(self) -> dict[str, Any]:
        """Who the hub takes this client for: user (None: anonymous), key id, scopes, groups."""
        return self._transport.request("GET", "/v1/me")

    def health(self) -> dict[str, Any]:
        return self._transport.request("GET", "/health/ready")

    # -- predictions ----------------------------------------------------------------------
    def predict(
        self, ref: str, inputs: Sequence[Any] | Any, *, params: dict[str, Any] | None = None
    ) -> Predictions:
        """Predict with model ``ref`` (``name``, ``name@alias`` or ``name:3``). A single input
        that is not a list is sent as a batch of one; :class:`ase.Atoms` are sent in the
        atoms JSON form (:func:`~hub.client.atoms.encode_atoms`)."""
        batch = batch_of(inputs)
        body = self._transport.request(
            "POST", f"/v1/models/{ref}/predict", json={"inputs": batch, "params": params or {}}
        )
        return Predictions(body["model"], body["version"], body["outputs"])

    def predict_file(
        self,
        ref: str,
        path: str | Path,
        *,
        column: str = "smiles",
        params: dict[str, Any] | None = None,
        chunk: int = 5000,
    ) -> Predictions:
        """Predict every input of a file (``.csv`` with a ``column`` column, ``.smi``, ``.sdf``;
        see :func:`hub.inputs.read_inputs`), sent in chunks of ``chunk`` inputs."""
        inputs = read_inputs(path, column=column)
        outputs: list[dict[str, Any]] = []
        model, version = ref, 0
        for start in range(0, len(inputs), chunk):
            part = self.predict(ref, inputs[start : start + chunk], params=params)
            model, version = part.model, part.version
            outputs += part.outputs
        return Predictions(model, version, outputs)

    def explain(self, ref: str, inputs: Sequence[Any] | Any) -> Predictions:
        """Predictions with per-atom contributions and an SVG of each molecule (inputs as
        :meth:`predict`: ASE atoms too)."""
        batch = batch_of(inputs)
        body = self._transport.request("POST", f"/v1/models/{ref}/explain", json={"inputs": batch})
        return Predictions(body["model"], body["version"], body["outputs"])

    # -- simulations and jobs ---------------------------------------------------------------
    def calculator(self, ref: str) -> HubCalculator:
        """An ASE calculator computing with model ``ref`` on this hub."""
        return HubCalculator(self, ref)

    def calculate(
        self, atoms: Atoms | Sequence[Atoms], *, model: str, chunk: int = 500, errors: str = "raise"
    ) -> Atoms | list[Atoms | None]:
        """Energy, forces and stress of one structure or many in one request per ``chunk``,
        as copies with a SinglePointCalculator (:func:`hub.client.calculator.calculate`)."""
        return calculate_with(atoms, model=model, client=self, chunk=chunk, errors=errors)

    def submit(
        self, model: str, task: str, atoms: Atoms | dict[str, Any] | str, **params: Any
    ) -> JobHandle:
        """Queue ``task`` (relax, eos, md, neb, vibrations, thermo) on ``atoms``; return a
        :class:`JobHandle`."""
        return submit(self._transport, model, task, atoms, params)

    def train(
        self,
        name: str,
        data: str | Path | bytes,
        *,
        target: str,
        smiles_column: str = "smiles",
        unit: str = "",
        task: str = "regression",
        visibility: str | None = None,
        params: dict[str, Any] | None = None,
        title: str = "",
        description: str = "",
    ) -> JobHandle:
        """Upload a CSV (a path or its bytes) and queue the training of model ``name`` from
        its ``smiles_column`` and ``target`` columns (``task``: regression or
        classification); ``params`` override the trainer's. Returns the job's handle:
        ``.wait()`` gives ``{"model", "version", "ref", "data", "metrics"}``."""
        content = data if isinstance(data, bytes) else Path(data).read_bytes()
        file_name = "data.csv" if isinstance(data, bytes) else Path(data).name
        form = {
            "target": target, "smiles_column": smiles_column, "unit": unit, "task": task,
            "visibility": visibility, "title": title, "description": description,
            "params": json.dumps(params or {}),
        }  # fmt: skip
        body = self._transport.request(
            "POST",
            f"/v1/models/{name}/train",
            files={"file": (file_name, content, "text/csv")},
            data={k: v for k, v in form.items() if v is not None},
        )
        return JobHandle(self._transport, body["id"])

    def job(self, job_id: str) -> JobHandle:
        """The handle of job ``job_id`` (status, wait, result, cancel)."""
        return JobHandle(self._transport, job_id)

    relax = _job(
        "relax",
        """Relax ``atoms`` as a job (``optimizer``, ``fmax`` eV/Å, ``steps``; ``cell=True``
        relaxes the cell too at ``pressure_gpa``); the structure's constraints hold. Returns
        the relaxed :class:`ase.Atoms` with its constraints and a SinglePointCalculator
        (energy, forces, stress: ``get_potential_energy()``), its ``info`` has fmax, converged
        and steps; or the job handle with ``wait=False``.""",
        _relaxed,
    )
    eos = _job(
        "eos",
        """Equation of state as a job: dict with v0 (Å^3), e0 (eV), bulk_modulus_gpa, points.""",
    )
    md = _job(
        "md",
        """MD as a job; returns (frames as a list of :class:`ase.Atoms`, each with its
        potential energy in a SinglePointCalculator; the energies per frame in eV), or the
        job handle with ``wait=False``.""",
        _trajectory,
    )

    def neb(
        self,
        initial: Atoms | dict[str, Any],
        final: Atoms | dict[str, Any],
        *,
        model: str,
        wait: bool = True,
        progress: bool = True,
        **params: Any,
    ) -> dict[str, Any] | JobHandle:
        """Nudged elastic band between ``initial`` and ``final`` as a job (``n_images``,
        ``climb``, ``optimizer``, ``fmax`` eV/Å, ``steps``, ``k``, ``interpolation``).
        Returns the result dict with ``barrier_forward``, ``barrier_backward`` (eV),
        ``energies``, ``highest_image`` and ``images``: the band as :class:`ase.Atoms` with
        SinglePointCalculators; or the job handle with ``wait=False``."""
        endpoints = {"initial": initial, "final": final}
        return self._task(model, "neb", endpoints, wait, progress, params, _band)

    vibrations = _job(
        "vibrations",
        """Vibrational analysis as a job (``delta`` Å, ``nfree``, ``indices``,
        ``relax_fmax``): ``frequencies_cm1`` (imaginary ones negative, flagged in
        ``imaginary``), ``n_imaginary``, ``zpe`` (eV), ``warnings``, and ``atoms``: the
        structure as :class:`ase.Atoms`; or the job handle with ``wait=False``.""",
        _with_atoms,
    )
    thermo = _job(
        "thermo",
        """Thermochemistry as a job (``approximation``: ``ideal_gas`` or ``harmonic``,
        ``temperature_K``, ``pressure_pa``, ``symmetry_number``, ``spin`` and the parameters
        of :meth:`vibrations`): enthalpy, entropy, gibbs_energy (ideal gas) or
        internal_energy, entropy, helmholtz_energy (harmonic), in eV and eV/K.""",
    )

    def _task(
        self,
        model: str,
        task: str,
        input: Any,
        wait: bool,
        progress: bool,
        params: dict[str, Any],
        done: Callable[[dict[str, Any]], Any] | None = None,
    ) -> Any:
        """Submit ``task`` as a job; with ``wait``, its result (through ``done`` when given:
        ASE objects out), else the job handle."""
        handle = self.submit(model, task, input, **params)
        if not wait:
            return handle
        res = handle.wait(progress=progress)
        return done(res) if done is not None else res

    def publish(
        self,
        name: str,
        model: str | Path | bytes,
        *,
        input_type: str,
        featurizer: str,
        outputs: Sequence[dict[str, Any] | str],
        featurizer_params: dict[str, Any] | None = None,
        task: str = "property-regression",
        uncertainty: str | None = None,
        title: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
        visibility: str | None = None,
        metrics: Sequence[dict[str, Any]] = (),
        evaluation: str | Path | bytes | None = None,
        training_inputs: str | Path | bytes | None = None,
        input_column: str | None = None,
        version_description: str = "",
        timeout_s: float = 900.0,
    ) -> dict[str, Any]:
        """Upload the Keras model ``model`` (a ``.keras`` path or its bytes) as the next
        version of ``name``, creating the model first (owned by this key's user, private
        unless ``visibility`` says otherwise) when it does not exist. Arguments as
        :func:`hub.publish`; ``outputs`` are dicts or ``"name:unit"``. Returns ``{"model",
        "version", "ref", "detail", "report"}``; a refused upload raises the typed error."""
        from hub.errors import NotFound

        def read(src: str | Path | bytes, default: str) -> tuple[str, bytes]:
            if isinstance(src, bytes):
                return default, src
            return Path(src).name, Path(src).read_bytes()

        outs = [
            {"name": o.partition(":")[0].strip(), "unit": o.partition(":")[2].strip()}
            if isinstance(o, str) else dict(o)
            for o in outputs
        ]  # fmt: skip
        try:
            self._transport.request("GET", f"/v1/models/{name}")
        except NotFound:
            body = {"name": name, "input_type": input_type, "outputs": outs, "task": task,
                    "title": title or "", "description": description or "",
                    "tags": list(tags or ()), "visibility": visibility or "private"}  # fmt: skip
            self._transport.request("POST", "/v1/models", json=body)
        manifest = {
            "input_type": input_type, "featurizer": featurizer,
            "featurizer_params": featurizer_params or {}, "outputs": outs, "task": task,
            "uncertainty": uncertainty, "title": title, "description": description,
            "tags": list(tags) if tags is not None else None, "visibility": visibility,
            "metrics": list(metrics), "input_column": input_column,
            "version_description": version_description,
        }  # fmt: skip
        files = {"file": (*read(model, "model.keras"), "application/octet-stream")}
        extra = (
            ("evaluation", evaluation, "evaluation.csv"),
            ("training_inputs", training_inputs, "training.smi"),
        )
        for key, src, default in extra:
            if src is not None:
                files[key] = (*read(src, default), "text/plain")
        return self._transport.request(
            "POST",
            f"/v1/models/{name}/versions",
            files=files,
            data={"manifest": json.dumps({k: v for k, v in manifest.items() if v is not None})},
            timeout=timeout_s,
        )


def calculate(
    atoms: Atoms | Sequence[Atoms],
    *,
    model: str,
    url: str | None = None,
    api_key: str | None = None,
    chunk: int = 500,
    errors: str = "raise",
) -> Atoms | list[Atoms | None]:
    """``hub.calculate``: :meth:`HubClient.calculate` on a client of ``url`` (default
    ``HUB_URL`` or ``http://127.0.0.1:8000``) with ``api_key`` (default ``HUB_API_KEY``)."""
    with HubClient(url or os.environ.get("HUB_URL", "http://127.0.0.1:8000"), api_key=api_key) as c:
        return c.calculate(atoms, model=model, chunk=chunk, errors=errors)
