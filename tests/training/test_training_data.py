"""Bad data for training: every problem the hub can see in a table is reported or refused with
a typed error before any job is queued (and nothing is left in the catalog)."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest

import hub
from hub.catalog.jobs import JobStore
from hub.errors import InvalidRequest, NotFound, PayloadTooLarge
from hub.plugins import load_plugins
from hub.training import MIN_ROWS, build_table

DATA = Path(__file__).resolve().parents[2] / "domains" / "chemistry" / "data"


def esol(n: int) -> list[tuple[str, float]]:
    """The first ``n`` ESOL molecules and their log solubility."""
    with gzip.open(DATA / "ESOL.csv.gz", "rt") as fh:
        rows = list(csv.DictReader(fh))[:n]
    return [(r["smiles"], float(r["measured log solubility in mols per litre"])) for r in rows]


def to_csv(rows: list[tuple[str, object]], header: tuple[str, str] = ("smiles", "logS")) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


def table(data: bytes, task: str = "regression", **kw: object):  # noqa: ANN201
    smiles = load_plugins().input_type("smiles")
    args = dict(smiles_column="smiles", target="logS", unit="log10(mol/L)", task=task)
    args.update(kw)
    return build_table(data, smiles, name="t.csv", sha256="", max_bytes=10**7, **args)


def test_invalid_rows_are_left_out_and_reported_row_by_row() -> None:
    rows: list[tuple[str, object]] = list(esol(60))
    rows.insert(3, ("C1CC(not smiles", -1.0))  # file row 5: header 1, data from 2
    rows.insert(10, ("c1ccccc1O", "n/a"))  # file row 12: a target that is no number
    rows.insert(20, ("", -2.0))  # file row 22: an empty input
    t, report = table(to_csv(rows))
    assert report.rows == 63 and report.usable == 60 == len(t.y) == len(t.inputs)
    got = {(r["row"], r["code"]) for r in report.invalid}
    assert got == {(5, "invalid_smiles"), (12, "invalid_target"), (22, "empty_input")}
    assert report.invalid[0]["input"] == "C1CC(not smiles"
    assert report.invalid_count == 3


def test_duplicates_are_averaged_and_reported() -> None:
    rows: list[tuple[str, object]] = list(esol(60))
    rows.append(("OC1=CC=CC=C1", 1.0))  # phenol, written otherwise
    rows.append(("c1ccccc1O", 2.0))
    rows.append(("Oc1ccccc1.[Na+].[Cl-]", 3.0))  # the salt is stripped: phenol again
    t, report = table(to_csv(rows))
    assert report.duplicate_count == 1 and report.usable == 61
    [dup] = report.duplicates
    assert dup["key"] == "Oc1ccccc1" and dup["rows"] == [62, 63, 64]
    assert dup["values"] == [1.0, 2.0, 3.0] and dup["merged"] == pytest.approx(2.0)
    assert dup["action"] == "conflicting values: averaged"
    assert float(t.y[[m.smiles for m in t.inputs].index("Oc1ccccc1")]) == pytest.approx(2.0)


def test_classification_labels_majority_and_ties() -> None:
    rows: list[tuple[str, object]] = [(s, "yes" if y > -3 else "no") for s, y in esol(80)]
    rows += [("c1ccccc1O", 1), ("Oc1ccccc1", "true"), ("OC1=CC=CC=C1", 0)]  # 2 to 1: class 1
    rows += [("CCCCCCCCO", 1), ("OCCCCCCCC", 0)]  # a tie: dropped
    rows += [("CCO", "maybe")]
    t, report = table(to_csv(rows), task="classification")
    assert set(t.y.tolist()) == {0.0, 1.0} and t.output.unit == "probability"
    actions = {d["key"]: (d["action"], d["merged"]) for d in report.duplicates}
    assert actions["Oc1ccccc1"] == ("conflicting labels: majority kept", 1.0)
    assert actions["CCCCCCCCO"] == ("tied labels: dropped", None)
    assert report.dropped_conflicts == 1
    assert [(r["input"], r["code"]) for r in report.invalid] == [("CCO", "invalid_label")]


def test_too_few_usable_rows_is_a_clear_error() -> None:
    rows: list[tuple[str, object]] = list(esol(MIN_ROWS - 1)) + [("C1CC(", 1.0)] * 5
    with pytest.raises(InvalidRequest) as exc:
        table(to_csv(rows))
    assert exc.value.code == "too_few_rows"
    assert f"only {MIN_ROWS - 1} usable rows of {MIN_ROWS + 4}" in exc.value.message
    assert "5 invalid row(s) left out" in exc.value.message and "at least 50" in exc.value.message


def test_constant_target_is_a_clear_error() -> None:
    with pytest.raises(InvalidRequest, match="constant") as exc:
        table(to_csv([(s, -2.5) for s, _ in esol(60)]))
    assert exc.value.code == "constant_target"
    with pytest.raises(InvalidRequest, match="class 1") as exc:
        table(to_csv([(s, 1) for s, _ in esol(60)]), task="classification")
    assert exc.value.code == "constant_target"


def test_missing_column_names_the_missing_and_the_present() -> None:
    with pytest.raises(InvalidRequest) as exc:
        table(to_csv(esol(60), header=("SMILES", "value")))
    assert exc.value.code == "missing_columns"
    msg = exc.value.message
    assert "'smiles'" in msg and "'logS'" in msg and "'SMILES'" in msg and "'value'" in msg
    assert exc.value.detail["missing"] == ["smiles", "logS"]


def test_not_csv_and_unknown_task() -> None:
    with pytest.raises(InvalidRequest) as exc:
        table(b"\xff\xfe\x00garbage")
    assert exc.value.code == "invalid_csv"
    with pytest.raises(InvalidRequest) as exc:
        table(to_csv(esol(60)), task="ranking")
    assert exc.value.code == "invalid_task"


def test_nothing_is_queued_for_bad_data(tmp_path: Path) -> None:
    """Through hub.train on a fresh catalog: errors before any job, model or stored file."""
    from hub.runtime import Runtime
    from tests.conftest import settings_for

    runtime = Runtime(settings_for(tmp_path, max_upload_bytes=4096))
    try:
        cases = [
            (to_csv(esol(60)), {"target": "logS", "max_bytes": 100}, PayloadTooLarge),
            (to_csv(esol(30)), {"target": "logS"}, InvalidRequest),
            (to_csv(esol(60)), {"target": "pIC50"}, InvalidRequest),
            (to_csv(esol(60)), {"target": "logS", "params": {"epoch": 3}}, InvalidRequest),
            (to_csv(esol(60)), {"target": "logS", "visibility": "friends"}, InvalidRequest),
            (to_csv(esol(60)), {"target": "logS", "visibility": "group:nobody"}, NotFound),
        ]
        for data, kw, error in cases:
            with pytest.raises(error):
                hub.train("acme.bad", data, runtime=runtime, **kw)
        big = tmp_path / "big.csv"
        big.write_bytes(to_csv(esol(200)))  # over max_upload_bytes, the default limit
        with pytest.raises(PayloadTooLarge) as exc:
            hub.train("acme.bad", big, target="logS", runtime=runtime)
        assert exc.value.status == 413
        with pytest.raises(NotFound):
            runtime.store.get_model("acme.bad")
        assert JobStore(runtime.store).list() == []
        assert not any(p.is_file() for p in (tmp_path / "artifacts").rglob("*"))
    finally:
        runtime.store.close()
