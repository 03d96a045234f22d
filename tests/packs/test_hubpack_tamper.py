"""A changed, forged, truncated or malicious pack is refused with a typed error, and then
nothing is registered and no file is left in the artifact store."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import pytest

from hub.errors import (
    HubError,
    IntegrityError,
    InvalidRequest,
    PayloadTooLarge,
    PluginError,
    Unavailable,
)
from hub.packs import PackCorrupt, PackLimits, import_model
from tests.packs.packtools import Hub, flip, member_span, repack, unpack

MODEL = "chemistry.solubility"


def _import(pack: Path, hub: Hub, plugins, **kw):  # noqa: ANN001, ANN003, ANN202
    return import_model(pack, store=hub.store, artifacts=hub.artifacts, plugins=plugins, **kw)


def _nothing_left(hub: Hub) -> None:
    assert hub.store.list_models(include_private=True)[0] == []
    assert hub.store.all_versions() == []
    assert hub.files() == []


def _lambda_keras(path: Path) -> bytes:
    import keras

    inputs = keras.Input(shape=(4,))
    outputs = keras.layers.Dense(2)(keras.layers.Lambda(lambda x: x * 2.0)(inputs))
    keras.Model(inputs, outputs).save(path)
    return path.read_bytes()


def _model_member(pack: Path) -> str:
    manifest = json.loads(unpack(pack)["manifest.json"])
    return f"artifacts/{manifest['artifacts']['model']['sha256']}"


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("member", ["model", "manifest.json", "manifest.sha256", "card.md"])
def test_one_changed_byte_is_refused(
    member: str,
    where: str,
    packs,
    target_hub: Hub,
    tmp_path: Path,
    plugins,  # noqa: ANN001
) -> None:
    pack = packs[MODEL]
    name = _model_member(pack) if member == "model" else member
    start, end = member_span(pack.read_bytes(), name)
    at = {"first": start, "middle": (start + end) // 2, "last": end - 1}[where]
    bad = flip(pack, at, tmp_path / "bad.hubpack")
    with pytest.raises(IntegrityError) as exc:
        _import(bad, target_hub, plugins)
    assert isinstance(exc.value, PackCorrupt) and exc.value.code == "pack_corrupt"
    _nothing_left(target_hub)


def test_every_sampled_byte_is_refused(packs, sqlite_hub: Hub, tmp_path: Path, plugins) -> None:  # noqa: ANN001
    """Flip one bit at a time: headers, central directory, manifest, card every 3rd byte,
    the artifacts every 97th. Each pack is refused with a typed error."""
    pack = packs["physics.emt"]
    data = pack.read_bytes()
    spans = [member_span(data, n) for n in unpack(pack) if n.startswith("artifacts/")]
    inside = {i for s, e in spans for i in range(s, e)}
    positions = [i for i in range(len(data)) if (i % 97 == 0 if i in inside else i % 3 == 0)]
    codes: dict[str, int] = {}
    for i in positions:
        bad = flip(pack, i, tmp_path / "bad.hubpack")
        with pytest.raises(HubError) as exc:
            _import(bad, sqlite_hub, plugins)
        assert isinstance(exc.value, IntegrityError | InvalidRequest), (i, exc.value)
        codes[exc.value.code] = codes.get(exc.value.code, 0) + 1
    assert len(positions) > 1000 and codes.get("pack_corrupt", 0) > 0.9 * len(positions)
    _nothing_left(sqlite_hub)


def test_consistent_forgeries(packs, sqlite_hub: Hub, tmp_path: Path, plugins) -> None:  # noqa: ANN001
    pack = packs[MODEL]
    model = _model_member(pack)

    def change_artifact(manifest: dict, members: dict) -> None:
        members[model] = members[model][:-1] + bytes([members[model][-1] ^ 1])

    def change_metric(manifest: dict, members: dict) -> None:
        manifest["version"]["metrics"][0]["value"] = 0.01  # a better RMSE than measured

    def change_card(manifest: dict, members: dict) -> None:
        members["card.md"] = members["card.md"].replace(b"rmse", b"RMSE")

    # valid CRCs and zip structure, but the bytes no longer match the manifest's sha256
    for change in (change_artifact, change_metric, change_card):
        bad = repack(pack, tmp_path / f"{change.__name__}.hubpack", change, rehash=False)
        if change is change_metric:  # the manifest changed, its digest did not
            members = unpack(bad)
            members["manifest.json"] = json.dumps(json.loads(members["manifest.json"])).encode()
            from hub.packs.archive import write_pack

            write_pack(bad, members.items())
        with pytest.raises(PackCorrupt):
            _import(bad, sqlite_hub, plugins)
    _nothing_left(sqlite_hub)
    # a forger who rewrites the manifest and its digest makes another valid pack: the
    # pack's own sha256, published by its author, is what tells them apart
    forged = repack(pack, tmp_path / "forged.hubpack", change_metric)
    genuine_sha = _import(pack, sqlite_hub, plugins, name="chemistry.genuine").pack_sha256
    with pytest.raises(PackCorrupt):
        _import(forged, sqlite_hub, plugins, name="chemistry.forged", sha256=genuine_sha)
    assert {m.name for m in sqlite_hub.store.list_models(include_private=True)[0]} == {
        "chemistry.genuine"
    }


def _zip(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]], **kw) -> Path:  # noqa: ANN003
    with zipfile.ZipFile(path, "w", **kw) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def _with(pack: Path, path: Path, extra: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    """The pack's members plus ``extra``, through zipfile (not the canonical writer)."""
    return _zip(path, [*unpack(pack).items(), *extra])


def _symlink(name: str, target: bytes) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


BOMB = b"\0" * (64 * 1024 * 1024)


@pytest.mark.parametrize(
    ("case", "error", "code"),
    [
        ("traversal", InvalidRequest, "unsafe_pack"),
        ("absolute", InvalidRequest, "unsafe_pack"),
        ("backslash", InvalidRequest, "unsafe_pack"),
        ("extra_member", InvalidRequest, "unexpected_member"),
        ("directory", InvalidRequest, "unexpected_member"),
        ("symlink", InvalidRequest, "unsafe_pack"),
        ("duplicate", InvalidRequest, "unsafe_pack"),
        ("zip_bomb", InvalidRequest, "unsafe_pack"),
        ("unlisted_artifact", InvalidRequest, "unexpected_member"),
        ("missing_artifact", PackCorrupt, "pack_corrupt"),
        ("recompressed", InvalidRequest, "unsafe_pack"),
        ("truncated_half", PackCorrupt, "pack_corrupt"),
        ("truncated_last_byte", PackCorrupt, "pack_corrupt"),
        ("empty", PackCorrupt, "pack_corrupt"),
        ("not_a_zip", PackCorrupt, "pack_corrupt"),
        ("prepended", PackCorrupt, "pack_corrupt"),
        ("appended", PackCorrupt, "pack_corrupt"),
    ],
)
def test_bad_structure_is_refused(
    case: str,
    error: type,
    code: str,
    packs,
    sqlite_hub: Hub,
    tmp_path: Path,
    plugins,  # noqa: ANN001
) -> None:
    pack = packs["physics.emt"]
    data = pack.read_bytes()
    out = tmp_path / f"{case}.hubpack"
    members = unpack(pack)
    sha = "0" * 64
    if case == "traversal":
        _with(pack, out, [("../../evil.py", b"import os")])
    elif case == "absolute":
        _with(pack, out, [("/etc/cron.d/evil", b"* * * * * root true")])
    elif case == "backslash":
        _with(pack, out, [("artifacts\\..\\..\\evil", b"x")])
    elif case == "extra_member":
        _with(pack, out, [("notes.txt", b"hello")])
    elif case == "directory":
        _with(pack, out, [("artifacts/", b"")])
    elif case == "symlink":
        _zip(out, [*((n, d) for n, d in members.items() if n != "card.md"),
                   _symlink("card.md", b"/etc/passwd")])  # fmt: skip
    elif case == "duplicate":
        with pytest.warns(UserWarning):
            _with(pack, out, [("card.md", b"# another card")])
    elif case == "zip_bomb":
        _with(pack, out, [])
        with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"artifacts/{sha}", BOMB)
        assert out.stat().st_size < 1024 * 1024  # 64 MiB of zeros in a small file
    elif case == "unlisted_artifact":
        from hub.packs.archive import write_pack

        write_pack(out, [*members.items(), (f"artifacts/{sha}", b"x")])
    elif case == "missing_artifact":
        from hub.packs.archive import write_pack

        write_pack(out, [(n, d) for n, d in members.items() if not n.startswith("artifacts/")])
    elif case == "recompressed":
        _zip(out, list(members.items()), compression=zipfile.ZIP_DEFLATED)
    elif case == "truncated_half":
        out.write_bytes(data[: len(data) // 2])
    elif case == "truncated_last_byte":
        out.write_bytes(data[:-1])
    elif case == "empty":
        out.write_bytes(b"")
    elif case == "not_a_zip":
        out.write_bytes(b'{"format": "hubpack"}\n' * 10)
    elif case == "prepended":
        out.write_bytes(b"#!/bin/sh\n" + data)
    elif case == "appended":
        out.write_bytes(data + b"trailing bytes")
    with pytest.raises(error) as exc:
        _import(out, sqlite_hub, plugins)
    assert exc.value.code == code, exc.value.message
    _nothing_left(sqlite_hub)


@pytest.mark.parametrize(
    ("limits", "what"),
    [
        (PackLimits(max_pack_bytes=10_000), "max_pack_bytes"),
        (PackLimits(max_member_bytes=1_000), "max_member_bytes"),
        (PackLimits(max_artifacts=0), "max_artifacts"),
        (PackLimits(max_manifest_bytes=100), "manifest.json"),
        (PackLimits(max_card_bytes=100), "card.md"),
    ],
)
def test_limits(limits: PackLimits, what: str, packs, sqlite_hub: Hub, plugins) -> None:  # noqa: ANN001
    with pytest.raises(PayloadTooLarge) as exc:
        _import(packs["physics.emt"], sqlite_hub, plugins, limits=limits)
    assert exc.value.detail["limit"] == what
    _nothing_left(sqlite_hub)


@pytest.mark.parametrize(
    ("field", "value", "error", "code"),
    [
        ("outputs", "not a list", InvalidRequest, "invalid_manifest"),
        ("unknown", 1, InvalidRequest, "invalid_manifest"),
        ("format_version", 2, InvalidRequest, "unsupported_pack_version"),
        ("name", "../../etc", InvalidRequest, "invalid_manifest"),
        ("kind", "nowhere.kind", PluginError, "plugin_error"),
        ("input_type", "nowhere.input", PluginError, "plugin_error"),
        ("role", "../model", InvalidRequest, "invalid_manifest"),
        ("metric_name", "x" * 500, InvalidRequest, "invalid_manifest"),
    ],
)
def test_bad_manifest_is_refused(
    field: str, value: object, error: type, code: str, packs, sqlite_hub: Hub, tmp_path: Path,  # noqa: ANN001
    plugins,  # noqa: ANN001
) -> None:  # fmt: skip
    """Consistent packs (the digest recomputed) whose manifest says something wrong."""

    def change(manifest: dict, members: dict) -> None:
        if field == "format_version":
            manifest["format_version"] = value
        elif field in ("outputs", "name", "input_type"):
            manifest["model"][field] = value
        elif field == "unknown":
            manifest["version"]["run_this"] = value
        elif field == "kind":
            manifest["version"]["kind"] = value
        elif field == "role":
            manifest["artifacts"][value] = manifest["artifacts"].pop("plot_eos")
        elif field == "metric_name":
            manifest["version"]["metrics"][0]["name"] = value

    bad = repack(packs["physics.emt"], tmp_path / "bad.hubpack", change)
    with pytest.raises(error) as exc:
        _import(bad, sqlite_hub, plugins)
    assert exc.value.code == code, exc.value.message
    _nothing_left(sqlite_hub)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("garbage", "truncated_archive"),
        ("lambda_layer", "lambda_layer"),
        ("pickle", "pickle_not_accepted"),
        ("h5", "h5_not_accepted"),
        ("uncertainty_dropped", "output_count_mismatch"),
        ("featurizer_width", "unloadable_model"),
    ],
)
def test_a_model_the_hub_would_not_publish_is_refused(
    payload: str,
    code: str,
    packs,
    target_hub: Hub,
    tmp_path: Path,
    plugins,  # noqa: ANN001
) -> None:
    """A consistent pack whose Keras file the publishing gate refuses (static checks, the
    sandbox's load with safe_mode=True and its output count), or that does not run here with
    the spec's featurizer: refused before anything is stored."""
    pack = packs[MODEL]
    model = _model_member(pack)

    def change(manifest: dict, members: dict) -> None:
        spec = manifest["version"]["spec"]
        if payload == "garbage":
            members[model] = b"PK\x03\x04 not really a keras file"
        elif payload == "lambda_layer":
            members[model] = _lambda_keras(tmp_path / "lambda.keras")
        elif payload == "pickle":
            members[model] = b"\x80\x04\x95\x1e\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94"
        elif payload == "h5":
            members[model] = b"\x89HDF\r\n\x1a\n" + b"\0" * 100
        elif payload == "uncertainty_dropped":
            spec.pop("uncertainty")
        elif payload == "featurizer_width":
            spec["featurizer"]["params"]["descriptors"] = spec["featurizer"]["params"][
                "descriptors"
            ][:10]

    bad = repack(pack, tmp_path / "bad.hubpack", change)
    with pytest.raises(InvalidRequest) as exc:
        _import(bad, target_hub, plugins)
    assert exc.value.code == code, exc.value.message
    _nothing_left(target_hub)


def test_keras_files_of_any_kind_go_through_the_gate(
    packs,
    sqlite_hub: Hub,
    tmp_path: Path,
    plugins,
    monkeypatch,  # noqa: ANN001
) -> None:
    """A Keras file is checked whatever the version's kind says, and the sandbox runs for a
    file it has not passed before."""
    from hub.packs import checks

    def change(manifest: dict, members: dict) -> None:
        plot = f"artifacts/{manifest['artifacts']['plot_eos']['sha256']}"
        members[plot] = _lambda_keras(tmp_path / "lambda.keras")

    bad = repack(packs["physics.emt"], tmp_path / "bad.hubpack", change)
    with pytest.raises(InvalidRequest) as exc:
        _import(bad, sqlite_hub, plugins)
    assert exc.value.code == "lambda_layer"
    _nothing_left(sqlite_hub)

    ran: list[int] = []
    from hub.publishing import sandbox

    original = sandbox.run_in_sandbox

    def counted(data: bytes, *args: object, **kw: object):  # noqa: ANN202
        ran.append(len(data))
        return original(data, *args, **kw)

    monkeypatch.setattr(sandbox, "run_in_sandbox", counted)
    monkeypatch.setattr(checks, "_PASSED", {})
    done = _import(packs[MODEL], sqlite_hub, plugins)
    assert done.created and len(ran) == 1 and ran[0] > 1000


@pytest.mark.parametrize("failing", ["register_version", "set_visibility"])
def test_a_failure_while_registering_leaves_nothing(
    failing: str,
    packs,
    target_hub: Hub,
    monkeypatch,
    plugins,  # noqa: ANN001
) -> None:
    """The catalog fails after the artifacts were stored: the model row and the files this
    import added are removed again."""

    def broken(*args: object, **kw: object) -> None:
        assert target_hub.files(), "the artifacts are stored before the rows"
        raise Unavailable("the catalog went away")

    monkeypatch.setattr(target_hub.store, failing, broken)
    with pytest.raises(Unavailable):
        _import(packs[MODEL], target_hub, plugins)
    monkeypatch.undo()
    _nothing_left(target_hub)


def test_shared_artifacts_survive_a_failed_import(
    packs,
    target_hub: Hub,
    monkeypatch,
    plugins,  # noqa: ANN001
) -> None:
    """Files another version already uses stay when an import of the same files fails."""
    first = _import(packs[MODEL], target_hub, plugins)
    before = target_hub.files()

    def broken(*args: object, **kw: object) -> None:
        raise Unavailable("the catalog went away")

    monkeypatch.setattr(target_hub.store, "register_version", broken)
    with pytest.raises(Unavailable):
        _import(packs[MODEL], target_hub, plugins, name="chemistry.copy")
    monkeypatch.undo()
    assert target_hub.files() == before
    assert [m.name for m in target_hub.store.list_models(include_private=True)[0]] == [MODEL]
    assert target_hub.artifacts.read(first.version.artifacts["model"])


def test_bomb_payload_is_never_inflated(tmp_path: Path) -> None:
    """The deflated bomb is refused from its central directory alone (no byte inflated)."""
    out = tmp_path / "bomb.hubpack"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", BOMB)
    from hub.packs.archive import PackReader

    with pytest.raises(InvalidRequest, match="compressed"):
        PackReader(out, PackLimits())
    assert out.stat().st_size < 1024 * 1024


def test_many_members_are_refused_from_the_end_record(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """100,000 empty members: refused from the zip's end record, before zipfile reads the
    central directory into objects."""
    from hub.packs.archive import PackReader

    out = tmp_path / "many.hubpack"
    _zip(out, [(f"artifacts/{i:064x}", b"") for i in range(100_000)])

    def never(*args: object, **kw: object) -> None:
        raise AssertionError("the central directory was read")

    monkeypatch.setattr(zipfile, "ZipFile", never)
    with pytest.raises(PayloadTooLarge) as exc:
        PackReader(out, PackLimits())
    assert exc.value.detail["limit"] == "max_artifacts"
