"""Universal interatomic potentials: SevenNet (``sevenn``) and CHGNet (``chgnet``) on PyTorch.

Pretrained on the Materials Project trajectories (MPtrj, 89 elements), they give the energy
(eV), forces (eV/Å) and, for a fully periodic cell, the stress (eV/Å^3, Voigt order xx, yy,
zz, yz, xz, xy) of almost any inorganic material; CHGNet also gives magnetic moments (μB per
atom). Both run here through the packages' own ASE calculators, so a structure gets exactly
the numbers the package gives it.

Offline by construction: the weights are files inside the installed wheels (:data:`WEIGHTS`
names each with its sha256, licence and citation); they are read from there by path, after
their sha256 is checked (``artifact_corrupt`` otherwise), never by a pretrained model's name
(which in ``sevenn`` may download), and with ``torch.load(weights_only=True)``: no pickled
code runs, only tensors and the numpy arrays the checkpoints hold are read.

Checks before any work, each a typed :class:`~hub.sdk.ItemError`: an element outside the
model's training set is ``unsupported_element`` naming it (SevenNet: its checkpoint's type
map; CHGNet: the MPtrj elements, as its embedding table also has Po, At, Rn, Fr and Ra, which
MPtrj does not hold); CHGNet takes only 3-D periodic cells (``not_periodic``); then the
model's :class:`~domains.physics.limits.Limits` (``too_many_atoms``, ``too_expensive``).

One model and one calculator per loaded version, shared by the threads of a process under a
lock (PyTorch's own threads do the parallel work: ``threads``, 1 by default, set for the
process). Neither package's calculator keeps its graph between calls (each call builds its
neighbour list anew, which is 0.1 % of a SevenNet call and about 10 % of a CHGNet call on
64 atoms), so what the hub keeps across calls is the loaded model.

Needs the ``universal`` extra (``pip install torch==2.13.0`` for the CPU build, then
``pip install -e '.[universal]'``); without it the engines answer ``unavailable`` (503).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from domains.physics.limits import Limits, limits_from
from domains.physics.simulators import require_elements, single_point
from hub.sdk import IntegrityError, ItemError, PluginError, Simulator, Unavailable

UNITS = {"energy": "eV", "forces": "eV/Å", "stress": "eV/Å^3", "magmoms": "μB"}
EXTRA_HINT = (
    "install the universal extra: pip install torch==2.13.0 (the CPU build; elsewhere add "
    "--index-url https://download.pytorch.org/whl/cpu), then pip install -e '.[universal]'"
)
# The elements of MPtrj (Deng et al. 2023): H to Pu but Po, At, Rn, Fr and Ra
MPTRJ_ELEMENTS = frozenset(chemical_symbols[1:95]) - {"Po", "At", "Rn", "Fr", "Ra"}

SEVENNET_CITATION = (
    "Y. Park, J. Kim, S. Hwang, S. Han, Scalable Parallel Algorithm for Graph Neural Network "
    "Interatomic Potentials in Molecular Dynamics Simulations, J. Chem. Theory Comput. 20, "
    "4857-4868 (2024), doi:10.1021/acs.jctc.4c00190"
)
CHGNET_CITATION = (
    "B. Deng, P. Zhong, K. Jun, J. Riebesell, K. Han, C. J. Bartel, G. Ceder, CHGNet as a "
    "pretrained universal neural network potential for charge-informed atomistic modelling, "
    "Nat. Mach. Intell. 5, 1031-1041 (2023), doi:10.1038/s42256-023-00716-3"
)


@dataclass(frozen=True)
class Weights:
    """A pretrained model's weights file inside an installed package."""

    title: str
    package: str  # the import (and distribution) name
    path: str  # inside the package
    sha256: str
    license: str
    citation: str
    training_data: str

    def file(self) -> Path:
        """The file, located in the installed package (``unavailable`` without it)."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise Unavailable(f"{self.title} needs the package {self.package!r}: {EXTRA_HINT}")
        return Path(next(iter(spec.submodule_search_locations))) / self.path

    def verified(self) -> Path:
        """The file, after its sha256 is checked against :attr:`sha256`."""
        path = self.file()
        if not path.is_file():
            raise Unavailable(f"{self.title}: {path} is missing from {self.package}")
        digest = _sha256(path)
        if digest != self.sha256:
            raise IntegrityError(
                f"{self.title}: {path} has sha256 {digest}, expected {self.sha256} (another "
                f"release of {self.package}? its weights would give other numbers)"
            )
        return path

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_HASHES: dict[tuple[str, int, int], str] = {}


def _sha256(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) within the process."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


WEIGHTS = {
    "7net-0": Weights(
        title="SevenNet-0 (11Jul2024)",
        package="sevenn",
        path="pretrained_potentials/SevenNet_0__11Jul2024/checkpoint_sevennet_0.pth",
        sha256="7052cb42b7b3be42b40b97fa0d21077a48c54b5548948fc4dcf346629f813c36",
        license="MIT (sevenn)",
        citation=SEVENNET_CITATION,
        training_data="MPtrj (Materials Project relaxation trajectories, 89 elements)",
    ),
    "7net-l3i5": Weights(
        title="SevenNet-l3i5",
        package="sevenn",
        path="pretrained_potentials/SevenNet_l3i5/checkpoint_l3i5.pth",
        sha256="a7ff190d41efe5b8317a03d20a468e4036a1a3e64e0b14fdbab64ac3f4bfc09d",
        license="MIT (sevenn)",
        citation=SEVENNET_CITATION,
        training_data="MPtrj (Materials Project relaxation trajectories, 89 elements)",
    ),
    "chgnet-0.3.0": Weights(
        title="CHGNet 0.3.0",
        package="chgnet",
        path="pretrained/0.3.0/chgnet_0.3.0_e29f68s314m37.pth.tar",
        sha256="d14ab7c0f093efe64b60a7bcd540bca10e74fb7f46c86108a079af60524659d1",
        license="BSD-3-Clause, modified (Lawrence Berkeley National Laboratory; chgnet)",
        citation=CHGNET_CITATION,
        training_data="MPtrj (Materials Project relaxation trajectories, 89 elements)",
    ),
}

# Cost before work. CPU time of one call, one thread (bench/universal_potentials.py): SevenNet-0
# about 10 ms per atom, SevenNet-l3i5 about 4 times that, CHGNet about 3 ms per atom; the
# limits keep one call under a minute (SevenNet-l3i5 on 1,000 atoms: about 40 s).
SEVENNET_LIMITS = Limits(
    max_atoms=1000, cutoff_angstrom=5.0, max_neighbour_pairs=150_000, max_image_atoms=2_000_000
)
L3I5_LIMITS = Limits(
    max_atoms=1000, cutoff_angstrom=5.0, max_neighbour_pairs=150_000, max_image_atoms=2_000_000
)
CHGNET_LIMITS = Limits(
    max_atoms=2000, cutoff_angstrom=6.0, max_neighbour_pairs=400_000, max_image_atoms=2_000_000
)
_SEVENNET_LIMITS = {"7net-0": SEVENNET_LIMITS, "7net-l3i5": L3I5_LIMITS}


def _weights(key: str, recorded: dict[str, Any] | None) -> Weights:
    """The weights of ``key``, checked against what a version recorded (``recorded``, the
    ``weights`` entry of its engine parameters) and then against the file."""
    weights = WEIGHTS[key]
    if recorded is not None and recorded.get("sha256") != weights.sha256:
        raise IntegrityError(
            f"{weights.title}: this version was registered with weights of sha256 "
            f"{recorded.get('sha256')}; the installed code names {weights.sha256}"
        )
    weights.verified()
    return weights


def _need(package: str) -> None:
    if importlib.util.find_spec(package) is None or importlib.util.find_spec("torch") is None:
        raise Unavailable(f"this engine needs {package} and torch: {EXTRA_HINT}")


def available(*packages: str) -> bool:
    """Whether torch and ``packages`` are installed (the recipes register only then)."""
    return all(importlib.util.find_spec(p) is not None for p in ("torch", *packages))


def _safe_globals() -> list[Any]:
    """What ``torch.load(weights_only=True)`` may build besides tensors: numpy arrays of
    numbers (SevenNet's checkpoints keep their per-element shift and scale as such)."""
    np_core = getattr(np, "_core", None) or np.core
    arrays = [(np_core.multiarray._reconstruct, "numpy.core.multiarray._reconstruct")]
    dtypes = [getattr(np.dtypes, n) for n in ("Float32DType", "Float64DType", "Int64DType")]
    return [*arrays, np.ndarray, np.dtype, *dtypes]


def safe_torch_load(path: Any, *_: Any, **kwargs: Any) -> Any:
    """``torch.load`` on the CPU with ``weights_only=True`` whatever the caller asked."""
    import torch

    kwargs.pop("weights_only", None)
    kwargs["map_location"] = "cpu"
    with torch.serialization.safe_globals(_safe_globals()):
        return torch.load(path, weights_only=True, **kwargs)


_LOAD_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The packages print and warn while loading (device, accelerators): kept off the logs."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _threads(threads: int) -> None:
    import torch

    if not 1 <= int(threads) <= 64:
        raise PluginError(f"threads must be 1 to 64, got {threads}")
    torch.set_num_threads(int(threads))


def _locked(
    calc: Any, name: str, allowed: frozenset[str], checked: Limits, periodic_only: bool
) -> Callable[[Atoms], dict[str, Any]]:
    """``compute(atoms)``: the checks of the module docstring, then one single point under a
    lock (the calculator keeps its last results)."""
    lock = threading.Lock()

    def compute(atoms: Atoms) -> dict[str, Any]:
        require_elements(atoms, allowed, name)
        if periodic_only and not atoms.pbc.all():
            raise ItemError(
                f"{name} takes a 3-D periodic cell (pbc true): put a molecule or a slab in a "
                "box with vacuum (at least 6 Å beyond its atoms) and give pbc true",
                code="not_periodic",
            )
        checked.check(atoms, name)
        with lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = single_point(atoms, calc, name)
            if "magmoms" in calc.results:
                out["magmoms"] = np.asarray(calc.results["magmoms"], dtype=float).reshape(-1)
        return out

    return compute


def sevennet(
    model: str = "7net-0",
    threads: int = 1,
    limits: dict[str, Any] | None = None,
    weights: dict[str, Any] | None = None,
) -> Callable[[Atoms], dict[str, Any]]:
    """SevenNet (``sevenn``'s ``SevenNetCalculator``, CPU): ``model`` "7net-0" (SevenNet-0,
    11Jul2024) or "7net-l3i5"; ``threads`` PyTorch threads for the process; ``limits`` as
    :mod:`domains.physics.limits` (unset keys take the model's defaults); ``weights`` what
    the version recorded of its weights (:meth:`Weights.to_dict`), checked before loading."""
    if model not in _SEVENNET_LIMITS:
        raise PluginError(f"unknown SevenNet model {model!r}: give one of {list(_SEVENNET_LIMITS)}")
    _need("sevenn")
    info = _weights(model, weights)
    path = info.file()
    checked = limits_from(limits, _SEVENNET_LIMITS[model], info.title)
    _threads(threads)
    with _LOAD_LOCK, _quiet():
        import sevenn
        import sevenn.checkpoint
        from sevenn.calculator import SevenNetCalculator

        original = sevenn.checkpoint.torch_load
        sevenn.checkpoint.torch_load = safe_torch_load  # the package's loader, without pickle
        try:
            calc = SevenNetCalculator(str(path), device="cpu")
        finally:
            sevenn.checkpoint.torch_load = original
    allowed = frozenset(chemical_symbols[int(z)] for z in calc.type_map)
    name = f"sevenn {sevenn.__version__} {info.title}"
    return _locked(calc, name, allowed, checked, periodic_only=False)


def chgnet(
    model: str = "0.3.0",
    threads: int = 1,
    limits: dict[str, Any] | None = None,
    weights: dict[str, Any] | None = None,
) -> Callable[[Atoms], dict[str, Any]]:
    """CHGNet (``chgnet``'s ``CHGNetCalculator``, CPU): ``model`` "0.3.0"; ``threads`` and
    ``limits`` as :func:`sevennet`. Adds ``magmoms`` (μB per atom) to each result."""
    if model != "0.3.0":
        raise PluginError(f"unknown CHGNet model {model!r}: give '0.3.0'")
    _need("chgnet")
    info = _weights("chgnet-0.3.0", weights)
    path = info.file()
    checked = limits_from(limits, CHGNET_LIMITS, info.title)
    _threads(threads)
    with _LOAD_LOCK, _quiet():
        import chgnet as chgnet_package
        from chgnet.model import CHGNet
        from chgnet.model.dynamics import CHGNetCalculator

        state = safe_torch_load(str(path))
        # as CHGNet.load("0.3.0") builds it, from the same file
        net = CHGNet.from_dict(state["model"], mlp_out_bias=False, version=model)
        calc = CHGNetCalculator(net, use_device="cpu")
    name = f"chgnet {chgnet_package.__version__} {info.title}"
    return _locked(calc, name, MPTRJ_ELEMENTS, checked, periodic_only=True)


SEVENNET_SIMULATOR = Simulator(
    name="physics.sevennet",
    input_type="atoms",
    description="SevenNet universal potential (sevenn, PyTorch CPU): SevenNet-0 or -l3i5",
    implemented_properties=("energy", "forces", "stress"),
    units={k: v for k, v in UNITS.items() if k != "magmoms"},
    build=sevennet,
)

CHGNET_SIMULATOR = Simulator(
    name="physics.chgnet",
    input_type="atoms",
    description="CHGNet 0.3.0 universal potential (chgnet, PyTorch CPU), with magnetic moments",
    implemented_properties=("energy", "forces", "stress", "magmoms"),
    units=UNITS,
    build=chgnet,
)

UNIVERSAL_SIMULATORS = (SEVENNET_SIMULATOR, CHGNET_SIMULATOR)
