"""Child processes that end with their parent, even when the parent is killed by SIGKILL
(which gives it no chance to stop them): the HTTP workers and the background build of
``hub serve``, the simulator pool's children.

Two mechanisms, because neither is enough alone: ``prctl(PR_SET_PDEATHSIG)`` on Linux (the
kernel signals the child at once, but when the *thread* that started it exits, and only once
it is set: a parent killed before that is missed), and a thread watching ``getppid()``
everywhere (catches what the first misses, within ``check_s``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def set_parent_death_signal(signum: int) -> bool:
    """Ask Linux to send ``signum`` to this process when the thread that started it exits;
    False where ``prctl`` is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(
    parent: int,
    *,
    signum: int = signal.SIGTERM,
    check_s: float = 1.0,
    grace_s: float | None = 10.0,
) -> None:
    """End this process when ``parent`` (the PID it was started by) is gone: ``signum`` is
    delivered to it (SIGTERM: its handlers unwind cleanly; SIGKILL: a child that holds nothing
    worth a clean exit), and ``grace_s`` seconds after a SIGTERM from the watcher it exits
    anyway (``os._exit``), so that a stuck shutdown cannot leave it behind. A parent already
    gone when this is called ends the process now."""
    set_parent_death_signal(signum)

    def end() -> None:
        os.kill(os.getpid(), signum)
        if grace_s is not None:
            time.sleep(grace_s)
            os._exit(1)

    if os.getppid() != parent:  # the parent died before prctl took effect
        if signum == signal.SIGKILL:
            os._exit(1)
        threading.Thread(target=end, name="die-with-parent", daemon=True).start()
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(check_s)
        end()

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
