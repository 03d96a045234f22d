"""Screen inputs: what is refused at once (empty, binary, no column) and what becomes per-row
error codes in the results (garbage lines, undecodable bytes, endless lines), computed by the
screen's own tasks run in this process."""

from __future__ import annotations

import gzip
import io
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hub.artifacts import ArtifactStore
from hub.catalog import CatalogStore
from hub.errors import InvalidRequest
from hub.plugins import load_plugins
from hub.screening.formats import check_head, detect_format, iter_rows
from hub.screening.submit import create_screen
from tests.conftest import settings_for
from tests.screening.screen_support import MODEL, check_results, run_inline


@pytest.mark.parametrize(
    ("data", "fmt", "code"),
    [
        (b"", "smi", "empty_file"),
        (b"  \n\n \n", "smi", "empty_file"),
        (b"\x00\x01\x02PK\x03\x04" * 100, "smi", "binary_file"),
        (bytes(range(256)) * 50, "csv", "binary_file"),
        (b"name,value\nethanol,1\n", "csv", "no_input_column"),
        (b"not gzip at all", "smi.gz", "binary_file"),
        (gzip.compress(b""), "smi.gz", "empty_file"),
    ],
)
def test_refused_from_the_first_bytes(data: bytes, fmt: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        check_head(data, fmt, "smiles")
    assert info.value.code == code


def test_formats_read_row_by_row() -> None:
    assert detect_format("lib.csv.gz") == "csv.gz" and detect_format("x.sdf") == "sdf"
    assert detect_format("library") == "smi"
    csv_text = b'id,SMILES\n1,CCO\n2,"c1ccccc1"\n3,\n'
    assert list(iter_rows(io.BytesIO(csv_text), "csv", "smiles")) == ["CCO", "c1ccccc1", ""]
    smi = b"# header\nCCO ethanol\n\n  c1ccccc1O phenol\n"
    assert list(iter_rows(io.BytesIO(gzip.compress(smi)), "smi.gz")) == ["CCO", "c1ccccc1O"]
    sdf = b"\n  x\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n> <n>\n1\n\n$$$$\n"
    assert [b.splitlines()[-1] for b in iter_rows(io.BytesIO(sdf * 2), "sdf")] == ["M  END"] * 2
    endless = b"C" * (3 << 20) + b"\nCCO\n"  # a 3 MB line is cut, then reading goes on
    rows = list(iter_rows(io.BytesIO(endless), "smi"))
    assert rows[-1] == "CCO" and len(rows) == 2


def _screen(home: Path, data: bytes, name: str, **kw):  # noqa: ANN202
    settings = settings_for(home, screen_chunk=1000)
    store = CatalogStore(settings.database_url)
    s = create_screen(
        settings,
        store,
        ArtifactStore(settings.artifacts_dir),
        load_plugins(),
        models=[MODEL],
        chunks=iter([data]),
        name=name,
        **kw,
    )
    return settings, store, s


def test_garbage_lines_become_error_codes(screen_home: Path) -> None:
    """3,000 lines of random printable garbage (and undecodable bytes) around 3 real
    molecules: one row each, the garbage with its error code, the molecules scored."""
    rng = random.Random(0)
    lines = [  # none starts with '#' (a comment line in a .smi)
        "X"
        + "".join(rng.choice("ABCxyz()[]=#@+-%0123456789\\/") for _ in range(rng.randint(1, 60)))
        for _ in range(3000)
    ]
    lines[10], lines[1500], lines[2999] = "CCO", "c1ccccc1O", "CC(=O)O"
    data = "\n".join(lines).encode() + b"\n\xff\xfe\xfa broken utf-8\n"
    settings, store, s = _screen(screen_home, data, "garbage.smi")
    run_inline(settings, s.id)
    from hub.catalog.screens import ScreenStore

    done = ScreenStore(store).get(s.id)
    table = pq.read_table(ArtifactStore(settings.artifacts_dir).open_verified(done.result_sha256))
    check_results(table, 3001)
    rows = table.to_pylist()
    ok = [r for r in rows if r["error"] is None]
    assert {r["input"] for r in ok} >= {"CCO", "c1ccccc1O", "CC(=O)O"}
    assert all(r[f"{MODEL}.value"] is not None for r in ok if r[f"{MODEL}.error"] is None)
    bad = [r for r in rows if r["error"] is not None]
    assert len(bad) >= 2900
    assert all(r[f"{MODEL}.error"] == r["error"] and r[f"{MODEL}.value"] is None for r in bad)
    assert {r["error"] for r in bad} <= {"invalid_smiles", "invalid_input", "too_large"}


def test_csv_without_the_column_is_refused_before_storing(screen_home: Path) -> None:
    with pytest.raises(InvalidRequest) as info:
        _screen(screen_home, b"name,logS\nethanol,1\n", "lib.csv")
    assert info.value.code == "no_input_column" and "name, logS" in info.value.message
    # a custom column name works
    settings, store, s = _screen(screen_home, b"name,Mol\nethanol,CCO\n", "lib.csv", column="mol")
    run_inline(settings, s.id)
    from hub.catalog.screens import ScreenStore

    done = ScreenStore(store).get(s.id)
    assert done.state == "succeeded"
    table = pq.read_table(ArtifactStore(settings.artifacts_dir).open_verified(done.result_sha256))
    assert table.column("smiles").to_pylist() == ["CCO"]
