"""The process environment TensorFlow reads when it is first imported, set in one place.

Import this module before ``keras`` or ``tensorflow``: every Keras user of the hub does
(:mod:`hub.runtime.keras_kind`, :mod:`hub.runtime.keras_layers`, :mod:`hub.learning.ensemble`,
:mod:`hub.publishing.inspect`), and :mod:`hub.sdk` does, so a domain's TensorFlow code (which
imports only ``hub.sdk``) gets it too. It only sets defaults: a value in the environment wins.

- ``TF_CPP_MIN_LOG_LEVEL=2``: TensorFlow's C++ logs show errors only, not its info and warning
  lines (the TensorFlow installed here still prints its one oneDNN notice at import: that line
  comes before its logging reads the level). Child processes the hub starts set their own
  environment (:mod:`hub.engine.cluster`, :mod:`hub.publishing.sandbox`).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
