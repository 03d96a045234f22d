"""The hub's typed errors, for a domain to raise (the tree is drawn in :mod:`hub.errors`).

- :class:`ItemError`: one input of a batch is bad (``invalid_smiles``, ``unsupported_element``):
  raise it from a parser or a predictor's per-item step; it fills that input's slot.
- :class:`InvalidRequest`: bad parameters, raised before any work (HTTP 422).
- :class:`RunError` and :class:`PluginError`: failed while running, or a plugin is broken.

Never let a foreign exception (RDKit, ASE, TensorFlow) out of a domain's public function:
translate it with ``raise ItemError(...) from exc``.
"""

from hub.errors import (
    AlreadyExists,
    CallerError,
    Forbidden,
    HubError,
    IntegrityError,
    InvalidRequest,
    ItemError,
    NotFound,
    PayloadTooLarge,
    PluginError,
    RateLimited,
    RunError,
    Unauthenticated,
    Unavailable,
)

__all__ = [
    "AlreadyExists",
    "CallerError",
    "Forbidden",
    "HubError",
    "IntegrityError",
    "InvalidRequest",
    "ItemError",
    "NotFound",
    "PayloadTooLarge",
    "PluginError",
    "RateLimited",
    "RunError",
    "Unauthenticated",
    "Unavailable",
]
