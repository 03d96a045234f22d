"""A model hub for chemistry and physics: one catalog, one prediction API, pluggable domains.

The core (this package) knows nothing about molecules or atoms: domains plug in through the
``hub.domains`` entry-point group (see :mod:`hub.plugins`).
"""

__version__ = "0.1.0"

# The Python API of publishing, imported on first use (TensorFlow is slow to import):
# ``hub.publish``, ``hub.train``, ``hub.export_model``, ``hub.import_model``; and
# ``hub.calculate(list_of_atoms, model=...)``: energies and forces from a hub as ASE atoms.
_LAZY = {
    "publish": "hub.publishing",
    "train": "hub.training",
    "export_model": "hub.packs",
    "import_model": "hub.packs",
    "screen": "hub.screening",  # bulk screening on Dask (issue 16)
    "calculate": "hub.client.http",  # many structures in one request, as ASE atoms
}


def __getattr__(name: str):  # noqa: ANN202 - module attributes loaded lazily (PEP 562)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hub' has no attribute {name!r}")
