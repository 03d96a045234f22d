"""The domain contract, and its discovery through the ``hub.domains`` entry-point group.

A domain plugin is one installed entry point whose value is a :class:`Domain` record (or a
zero-argument callable returning one, so heavy imports such as RDKit stay lazy)::

    [project.entry-points."hub.domains"]
    chemistry = "domains.chemistry.plugin:domain"

A domain gives the hub these parts, each a small typed record:

- :class:`InputType`   turns raw JSON into a domain object, or raises :class:`ItemError`.
- :class:`Featurizer`  a named, parameterised map from a domain object to a float vector.
- :class:`Simulator`   a physics engine shipped as code; the catalog stores only its params.
- :class:`ModelKind`   how to load a version of a kind the core does not know.
- :class:`Annotator`   adds evidence (an applicability-domain check) to each output.
- :class:`Task`        a long computation on a model (relaxation, MD), run as a job.
- :class:`Recipe`      trains (or configures) a model and returns what to register.
- :class:`Trainer`     trains a model from a user's table (:class:`TrainingTable`).

The hub never imports a domain by name: a broken plugin is reported and skipped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hub.config import cache_home
from hub.entities import DatasetInfo, Metric, ModelInfo, OutputSpec
from hub.errors import PluginError
from hub.params import NoParams, Params

if TYPE_CHECKING:
    import numpy as np

    from hub.entities import Version

log = logging.getLogger(__name__)
GROUP = "hub.domains"


@dataclass(frozen=True)
class InputType:
    """A kind of input (``smiles``, ``atoms``). ``parse(raw)`` returns a domain object or
    raises :class:`~hub.errors.ItemError`; ``describe(obj)`` adds fields to each output
    (for example the canonical SMILES that was actually used); ``explain`` attributes a
    prediction to the parts of the input (atoms); ``depict`` draws one parsed input as SVG."""

    name: str
    description: str
    parse: Callable[[Any], Any]
    describe: Callable[[Any], dict[str, Any]] | None = None
    example: Any = None
    # explain(obj, predict) -> dict: per-part contributions to a prediction, where
    # predict(list of objs) -> array of the model's first output (``params: {"explain": true}``)
    explain: Callable[[Any, Callable[[list[Any]], Any]], dict[str, Any]] | None = None
    # depict(obj) -> SVG text: a drawing of one parsed input (the molecule), for catalog pages
    depict: Callable[[Any], str] | None = None
    # cost(raw) -> float: a cheap estimate of what one raw input costs to run (its atoms, say),
    # read without parsing or allocating it; a batch's total is bounded per model kind
    # (``HUB_MAX_BATCH_COST``). None: the size of the input's largest string or array.
    cost: Callable[[Any], float] | None = None
    # key(obj) -> str: the input's identity, for finding duplicates in a training table (a
    # canonical SMILES); None: inputs are never merged
    key: Callable[[Any], str] | None = None
    # the annotator (by name, with a ``fit``) that gives published and trained models of this
    # input type their applicability domain; None: such models carry no ``in_domain``
    domain_annotator: str | None = None
    # the limits ``parse`` enforces on every input (name -> value, units in the name), shown on
    # the cards and in the OpenAPI; a model's own limits are in its version's spec
    limits: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Featurizer:
    """``build(**params)`` returns ``f(obj) -> 1-D float32 vector`` for one parsed input."""

    name: str
    input_type: str
    description: str
    build: Callable[..., Callable[[Any], np.ndarray]]


@dataclass(frozen=True)
class Simulator:
    """A physics engine. ``build(**params)`` returns ``compute(obj) -> {property: value}``
    in the units of ``units``; it may add an ``"engine"`` entry naming what ran. ``params``
    declares what a prediction may pass (a molecule's total charge, say): the hub checks them
    and calls ``compute(obj, **params)`` with those given; none by default."""

    name: str
    input_type: str
    description: str
    implemented_properties: tuple[str, ...]
    units: Mapping[str, str]
    build: Callable[..., Callable[..., dict[str, Any]]]
    params: type[Params] = NoParams


@dataclass(frozen=True)
class Annotator:
    """Adds evidence to each output of a learned model, for example an applicability-domain
    check. ``build(artifacts, **params)`` gets the version's artifacts it names (role ->
    verified bytes) and returns ``annotate(obj) -> dict`` merged into that input's output."""

    name: str
    input_type: str
    description: str
    build: Callable[..., Callable[[Any], dict[str, Any]]]
    # fit(reference, held_out) -> (params, artifacts): fits the annotator to a model's training
    # inputs (parsed objects) and checks it on held-out ones (e.g. chooses a similarity
    # threshold); returns the ``build`` params and the artifacts (role -> bytes) it needs
    fit: (
        Callable[[Sequence[Any], Sequence[Any]], tuple[dict[str, Any], dict[str, bytes]]] | None
    ) = None


@dataclass(frozen=True)
class TrainingTable:
    """A user's training data, read, checked and deduplicated by the hub (:mod:`hub.training`):
    ``inputs`` are parsed domain objects, ``raw`` the strings they came from, ``y`` the targets
    (float, shape (n,); 0/1 for classification)."""

    inputs: list[Any]
    raw: list[str]
    y: np.ndarray
    task: str  # "regression" | "classification"
    output: OutputSpec
    name: str  # the data set's name (its file name)
    sha256: str  # of the file as uploaded
    rows: int  # rows in the file, usable or not


@dataclass(frozen=True)
class Trainer:
    """Trains a model from a user's table (``hub train``, ``POST /v1/models/{name}/train``):
    ``train(ctx, table)`` returns what to register, like a :class:`Recipe`'s ``train``.
    ``params`` are the full-size defaults (``ctx.params``); ``tasks`` what it can learn.
    ``params_model``, when given, declares them (types, bounds, units: the same names as
    ``params``): a request's overrides are checked by it (one 422 shape) and listed in
    ``/openapi.json``; without it they are checked against the defaults' types only."""

    name: str
    input_type: str
    description: str
    train: Callable[[RecipeContext, TrainingTable], RecipeResult]
    tasks: tuple[str, ...] = ("regression",)
    params: Mapping[str, Any] = field(default_factory=dict)
    params_model: type[Params] | None = None

    def __post_init__(self) -> None:
        if self.params_model is None:
            return
        declared, given = set(self.params_model.model_fields), set(self.params)
        if declared != given:
            raise PluginError(
                f"trainer {self.name}: {self.params_model.__name__} declares "
                f"{sorted(declared - given)} beyond the defaults, lacks {sorted(given - declared)}"
            )


@dataclass(frozen=True)
class Task:
    """A long computation on a model version, run as a job by a worker process.

    ``run(predictor, obj, params, progress)`` returns a JSON-able result; it calls
    ``progress(step, total, message)`` now and then (which raises when the job is cancelled).
    ``check_params(params)`` returns the validated parameters with defaults filled in, or
    raises :class:`~hub.errors.InvalidRequest` before the job is queued;
    ``check_input(obj, params)``, when given, checks what depends on the parsed input too (a
    job's atoms x steps) and raises a :class:`~hub.errors.HubError` before it is queued.
    ``applies_to(model)`` says which models it runs on (None: those whose input type is the
    task's); a job of a task on any other model is refused when submitted."""

    name: str
    input_type: str
    description: str
    run: Callable[..., dict[str, Any]]
    check_params: Callable[[dict[str, Any]], dict[str, Any]] = dict
    check_input: Callable[[Any, dict[str, Any]], None] | None = None
    params: type[Params] | None = None  # the declared parameters (OpenAPI, cards)
    applies_to: Callable[[ModelInfo], bool] | None = None

    def runs_on(self, model: ModelInfo) -> bool:
        """True when this task can run on ``model``."""
        if self.applies_to is not None:
            return bool(self.applies_to(model))
        return model.input_type == self.input_type


class Predictor(Protocol):
    """A loaded, warm model version."""

    version: Version

    def predict(self, inputs: Sequence[Any], params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One output dict per input, in order; a bad input gets ``{"error": {...}}``. A
        predictor may also take ``budget=`` (:class:`hub.runtime.core.Budget`): it then checks
        ``budget.check()`` between items, so a request stops at its deadline or when its
        client has gone."""
        ...


@dataclass(frozen=True)
class LoadContext:
    """What a model kind may use to load a version."""

    plugins: PluginRegistry
    read_artifact: Callable[[str], bytes]  # sha256 -> verified bytes
    max_input_chars: int


@dataclass(frozen=True)
class ModelKind:
    """How to load versions of a kind; ``params``: the :class:`~hub.params.Params` of its
    predictions (checked by the hub, listed in the OpenAPI and on the cards), or, when they
    depend on the version, ``params_of(version, plugins)``'s."""

    name: str
    load: Callable[[Version, LoadContext], Predictor]
    params: type[Params] = NoParams
    params_of: Callable[[Version, PluginRegistry], type[Params]] | None = None

    def params_for(self, version: Version, plugins: PluginRegistry) -> type[Params]:
        """The parameters a prediction of ``version`` may take."""
        return self.params if self.params_of is None else self.params_of(version, plugins)


@dataclass
class RecipeContext:
    """Handed to a recipe: its parameters, a place to store artifacts, a progress callback,
    a scratch ``workdir`` (deleted after the build) and the hub's ``cache_dir`` (kept between
    builds, ``$XDG_CACHE_HOME/model-hub``: a recipe uses a subfolder of its own)."""

    params: dict[str, Any]
    put_artifact: Callable[[Path | bytes], str]  # returns the sha256
    progress: Callable[[float, str], None]  # (fraction done 0..1, message)
    workdir: Path
    cache_dir: Path = field(default_factory=cache_home)


@dataclass(frozen=True)
class RecipeResult:
    kind: str
    spec: dict[str, Any]
    artifacts: dict[str, str] = field(default_factory=dict)  # role -> sha256
    metrics: tuple[Metric, ...] = ()
    dataset: DatasetInfo | None = None
    description: str = ""


@dataclass(frozen=True)
class Recipe:
    """Builds one model. ``params`` are the full-size defaults; ``quick`` overrides them for
    small builds (tests, CI). ``revision`` is bumped when the code changes what it builds;
    ``data`` files are hashed into the build fingerprint. ``minutes`` is a rough full-build
    time on 2 cores: ``hub build`` builds the quickest first, so that a hub serving while it
    builds offers most models soon."""

    model: ModelInfo
    train: Callable[[RecipeContext], RecipeResult]
    params: Mapping[str, Any] = field(default_factory=dict)
    quick: Mapping[str, Any] = field(default_factory=dict)
    revision: str = "1"
    data: tuple[Path, ...] = ()
    minutes: float = 1.0

    @property
    def name(self) -> str:
        return self.model.name


@dataclass(frozen=True)
class Domain:
    name: str
    description: str
    input_types: tuple[InputType, ...] = ()
    featurizers: tuple[Featurizer, ...] = ()
    simulators: tuple[Simulator, ...] = ()
    model_kinds: tuple[ModelKind, ...] = ()
    annotators: tuple[Annotator, ...] = ()
    tasks: tuple[Task, ...] = ()
    recipes: tuple[Recipe, ...] = ()
    trainers: tuple[Trainer, ...] = ()


class PluginRegistry:
    """Every part of every loaded domain, by name."""

    def __init__(self, domains: Sequence[Domain], errors: Mapping[str, str] | None = None) -> None:
        self.domains = {d.name: d for d in domains}
        self.errors = dict(errors or {})
        self._by: dict[str, dict[str, Any]] = {
            k: {}
            for k in (
                "input",
                "featurizer",
                "simulator",
                "kind",
                "annotator",
                "task",
                "trainer",
            )
        }
        for d in domains:
            for part, key in (
                (d.input_types, "input"),
                (d.featurizers, "featurizer"),
                (d.simulators, "simulator"),
                (d.model_kinds, "kind"),
                (d.annotators, "annotator"),
                (d.tasks, "task"),
                (d.trainers, "trainer"),
            ):
                for item in part:
                    if item.name in self._by[key]:
                        log.warning(
                            "plugin %s redefines %s %r; keeping the first", d.name, key, item.name
                        )
                        continue
                    self._by[key][item.name] = item

    def _get(self, key: str, name: str) -> Any:
        try:
            return self._by[key][name]
        except KeyError:
            known = ", ".join(sorted(self._by[key])) or "none"
            raise PluginError(f"no {key} named {name!r} is installed (known: {known})") from None

    def input_type(self, name: str) -> InputType:
        return self._get("input", name)

    def featurizer(self, name: str) -> Featurizer:
        return self._get("featurizer", name)

    def simulator(self, name: str) -> Simulator:
        return self._get("simulator", name)

    def task(self, name: str) -> Task:
        return self._get("task", name)

    def tasks(self) -> list[str]:
        return sorted(self._by["task"])

    def annotator(self, name: str) -> Annotator:
        return self._get("annotator", name)

    def trainer(self, name: str) -> Trainer:
        return self._get("trainer", name)

    def trainers_for(self, input_type: str) -> list[Trainer]:
        """The trainers of ``input_type`` (the first is the default one)."""
        return [t for t in self._by["trainer"].values() if t.input_type == input_type]

    def model_kind(self, name: str) -> ModelKind | None:
        return self._by["kind"].get(name)

    def recipes(self) -> list[Recipe]:
        return [r for d in self.domains.values() for r in d.recipes]

    def describe(self) -> list[dict[str, Any]]:
        """The loaded plugins, for ``hub plugins`` and ``/health/ready``."""
        out = [
            {
                "name": d.name,
                "status": "loaded",
                "recipes": [r.name for r in d.recipes],
                "input_types": [i.name for i in d.input_types],
            }
            for d in self.domains.values()
        ]
        return out + [{"name": n, "status": "error", "error": e} for n, e in self.errors.items()]


_cache: PluginRegistry | None = None
_cache_lock = threading.Lock()


def load_plugins(*, refresh: bool = False) -> PluginRegistry:
    """Load every ``hub.domains`` entry point once; warn about and skip broken ones."""
    global _cache
    with _cache_lock:
        if _cache is not None and not refresh:
            return _cache
        domains: list[Domain] = []
        errors: dict[str, str] = {}
        for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
            try:
                obj = ep.load()
                domain = obj() if callable(obj) and not isinstance(obj, Domain) else obj
                if not isinstance(domain, Domain):
                    raise TypeError(f"entry point gave {type(domain).__name__}, not a Domain")
                domains.append(domain)
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the hub
                log.warning("skipping broken hub plugin %r: %s", ep.name, exc)
                errors[ep.name] = f"{type(exc).__name__}: {exc}"
        _cache = PluginRegistry(domains, errors)
        return _cache
