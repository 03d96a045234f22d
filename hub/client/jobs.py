"""Jobs from Python: submit, follow with a progress bar, fetch results as ASE objects.

Built on :class:`~hub.client.transport.Transport` alone (its public ``request``); the client's
``submit``, ``job``, ``relax``, ``eos`` and ``md`` return or use a :class:`JobHandle`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.client.atoms import atoms_from_extxyz, to_wire
from hub.client.transport import Transport
from hub.errors import RunError

if TYPE_CHECKING:
    from ase import Atoms

__all__ = ["JobHandle", "atoms_from_extxyz", "submit"]


@dataclass
class JobHandle:
    """A submitted job: ``status()``, ``wait()``, ``result()``, ``cancel()``."""

    transport: Transport
    id: str

    def status(self) -> dict[str, Any]:
        """The job's state, progress (step, total), message and error."""
        return self.transport.request("GET", f"/v1/jobs/{self.id}")

    def cancel(self) -> dict[str, Any]:
        """Ask the hub to cancel the job; its status as the hub answered."""
        return self.transport.request("DELETE", f"/v1/jobs/{self.id}")

    def result(self) -> dict[str, Any]:
        """The result of a succeeded job (raises the hub's typed error otherwise)."""
        return self.transport.request("GET", f"/v1/jobs/{self.id}/result")

    def wait(
        self, *, progress: bool = True, poll_s: float = 0.5, timeout_s: float | None = None
    ) -> dict[str, Any]:
        """Poll until the job ends (with a Rich progress bar); return its result, or raise
        :class:`~hub.errors.RunError` with the job's error if it failed or was cancelled."""
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        start = time.monotonic()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} {task.fields[msg]}"),
            TimeElapsedColumn(),
            disable=not progress,
            transient=True,
        ) as bar:
            task = bar.add_task(f"job {self.id[:8]}", total=None, msg="")
            while True:
                st = self.status()
                p = st["progress"]
                bar.update(
                    task,
                    completed=p["step"],
                    total=p["total"] or None,
                    msg=st["message"][:40],
                    description=f"{st['task']} {st['state']}",
                )
                if st["state"] in ("succeeded", "failed", "cancelled"):
                    break
                if timeout_s is not None and time.monotonic() - start > timeout_s:
                    raise TimeoutError(f"job {self.id} still {st['state']} after {timeout_s} s")
                time.sleep(poll_s)
        if st["state"] != "succeeded":
            err = st.get("error") or {}
            raise RunError(
                f"job {self.id} {st['state']}: {err.get('message', st['message'])}",
                code=err.get("code", f"job_{st['state']}"),
            )
        return self.result()


def payload_of(atoms: Any) -> Any:
    """A job's input as JSON: ASE atoms encoded, also as the values of a dict (the
    ``endpoints`` of a band: ``{"initial": atoms, "final": atoms}``)."""
    if isinstance(atoms, dict):
        return {k: to_wire(v) for k, v in atoms.items()}
    return to_wire(atoms)


def submit(
    transport: Transport,
    model: str,
    task: str,
    atoms: Atoms | dict[str, Any] | str,
    params: dict[str, Any] | None = None,
) -> JobHandle:
    """Queue ``task`` on ``model`` for ``atoms`` (ASE atoms, their JSON form, extxyz text or a
    SMILES for molecules, or ``{"initial": atoms, "final": atoms}`` for a band)."""
    payload = payload_of(atoms)
    body = transport.request(
        "POST",
        "/v1/jobs",
        json={"model": model, "task": task, "input": payload, "params": params or {}},
    )
    return JobHandle(transport, body["id"])
