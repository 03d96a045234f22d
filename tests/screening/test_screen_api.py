"""``/v1/screens`` on the embedded LocalCluster: upload, progress, results as Parquet and CSV,
partial results, cancel, a stored input, and the refusals of bad files."""

from __future__ import annotations

import io
import time

import pyarrow.parquet as pq
import pytest

from tests.screening.screen_support import MODEL, check_results, esol_smiles, wait_for


def _post(client, headers, data: bytes, name: str = "lib.smi", **form):  # noqa: ANN001, ANN202
    fields = {"model": [MODEL], **form}
    return client.post("/v1/screens", headers=headers, data=fields, files={"file": (name, data)})


def _finished(client, headers, sid: str, timeout_s: float = 240) -> dict:  # noqa: ANN001
    return wait_for(
        lambda: (lambda s: s if s["state"] in ("succeeded", "failed", "cancelled") else None)(
            client.get(f"/v1/screens/{sid}", headers=headers).json()
        ),
        timeout_s,
        0.5,
    )


def test_upload_progress_results(screen_api) -> None:  # noqa: ANN001
    client, headers, _runtime = screen_api
    lib = [*esol_smiles()[:300], "not a smiles", "C1CC", *esol_smiles()[:100]]
    r = _post(client, headers, "\n".join(lib).encode())
    assert r.status_code == 202, r.text
    sid = r.json()["id"]
    assert r.json()["state"] in ("queued", "running")
    early = client.get(f"/v1/screens/{sid}/results", headers=headers)
    assert early.status_code in (200, 409)  # 409 screen_not_finished while it runs
    s = _finished(client, headers, sid)
    assert s["state"] == "succeeded", s
    assert s["rows"] == 402 and s["unique"] <= 300 and s["progress"]["fraction"] == 1.0
    assert s["preview"] and s["preview"][0]["row"] == 0
    table = pq.read_table(
        io.BytesIO(client.get(f"/v1/screens/{sid}/results", headers=headers).content)
    )
    check_results(table, 402)
    rows = table.to_pylist()
    assert (
        rows[300]["error"] == "invalid_smiles" and rows[300][f"{MODEL}.error"] == "invalid_smiles"
    )
    assert rows[0][f"{MODEL}.value"] == rows[302][f"{MODEL}.value"]  # a duplicate, scored once
    assert isinstance(rows[0][f"{MODEL}.in_domain"], bool)
    assert rows[0][f"{MODEL}.uncertainty"] > 0
    text = client.get(f"/v1/screens/{sid}/results?format=csv", headers=headers).text
    lines = text.strip().splitlines()
    assert len(lines) == 403 and lines[0].startswith('"row","input","smiles"')
    partial = client.get(f"/v1/screens/{sid}/results?partial=true", headers=headers)
    assert partial.status_code == 200
    listed = client.get("/v1/screens", headers=headers).json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == sid
    # the same library from the artifact store, by its sha256
    r2 = client.post(
        "/v1/screens",
        headers=headers,
        data={"model": [MODEL], "input_sha256": s["input"]["sha256"]},
    )
    assert r2.status_code == 202, r2.text
    assert _finished(client, headers, r2.json()["id"])["state"] == "succeeded"


@pytest.mark.parametrize(
    ("data", "name", "form", "status", "code"),
    [
        (b"", "empty.smi", {}, 422, "empty_file"),
        (bytes(range(256)) * 400, "lib.smi", {}, 422, "binary_file"),
        (b"id,name\n1,ethanol\n", "lib.csv", {}, 422, "no_input_column"),
        (b"CCO\n", "lib.smi", {"model": ["chemistry.nope"]}, 404, "model_not_found"),
        (b"CCO\n", "lib.smi", {"format": "xlsx"}, 422, "unknown_format"),
    ],
)
def test_bad_uploads_are_refused(screen_api, data, name, form, status, code) -> None:  # noqa: ANN001
    client, headers, _ = screen_api
    r = _post(client, headers, data, name, **form)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert client.get("/v1/screens", headers=headers).json()["count"] == 0  # nothing queued


def test_no_input_and_no_key(screen_api) -> None:  # noqa: ANN001
    client, headers, _ = screen_api
    r = client.post("/v1/screens", headers=headers, data={"model": [MODEL]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_input"
    assert client.post("/v1/screens", data={"model": [MODEL]}).status_code in (401, 403)


def test_cancel_stops_the_remaining_chunks(screen_api) -> None:  # noqa: ANN001
    client, headers, runtime = screen_api
    from hub.catalog.screens import ScreenStore

    lib = (esol_smiles() * 4)[:4000]
    r = _post(client, headers, "\n".join(lib).encode(), chunk_size="200")
    sid = r.json()["id"]
    store = ScreenStore(runtime.store)
    wait_for(lambda: len(store.chunks(sid, "keys")) >= 2, 240, 0.2)
    t = time.monotonic()
    assert client.delete(f"/v1/screens/{sid}", headers=headers).status_code == 200
    s = _finished(client, headers, sid, 30)
    assert s["state"] == "cancelled" and time.monotonic() - t < 15
    time.sleep(3)  # nothing more is written once it is cancelled (a running chunk may end)
    before = {p: len(store.chunks(sid, p)) for p in ("keys", "scores")}
    time.sleep(3)
    assert {p: len(store.chunks(sid, p)) for p in ("keys", "scores")} == before
    assert before["keys"] < 20
    assert client.delete(f"/v1/screens/{sid}", headers=headers).status_code == 409
