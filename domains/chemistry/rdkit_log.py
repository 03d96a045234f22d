"""Capture RDKit's own error messages so that a failed parse can say why, per thread."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()
_installed = False
_lock = threading.Lock()
_STAMP = re.compile(r"^\[\d\d:\d\d:\d\d\]\s*")


class _Capture(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        sink = getattr(_local, "sink", None)
        if sink is not None:
            sink.append(_STAMP.sub("", record.getMessage()))


def _install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from rdkit import rdBase

        rdBase.LogToPythonLogger()
        logger = logging.getLogger("rdkit")
        logger.handlers = [_Capture()]
        logger.propagate = False
        logger.setLevel(logging.WARNING)
        _installed = True


@contextmanager
def rdkit_messages() -> Iterator[list[str]]:
    """Collect the messages RDKit logs inside the block (instead of printing them)."""
    _install()
    sink: list[str] = []
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = None
