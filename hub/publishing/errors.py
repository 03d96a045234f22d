"""The typed refusal of an upload: a :class:`~hub.errors.InvalidRequest` (422) whose ``code``
names the reason (``lambda_layer``, ``pickle_in_archive``, ``unsafe_archive_path``,
``truncated_archive``, ``h5_not_accepted``, ``input_width_mismatch``, ``non_finite_outputs``,
``constant_outputs``, ...) and whose ``detail`` may name the member, layer or field."""

from __future__ import annotations

from hub.errors import InvalidRequest


class ModelRefused(InvalidRequest):
    """An uploaded model the hub will not register; nothing was registered or stored."""

    code = "model_refused"
