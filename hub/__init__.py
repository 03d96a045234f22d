"""A model hub for chemistry and physics: one catalog, one prediction API, pluggable domains.

The core (this package) knows nothing about molecules or atoms: domains plug in through the
``hub.domains`` entry-point group (see :mod:`hub.plugins`).
"""

__version__ = "0.1.0"
