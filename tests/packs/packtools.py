"""Helpers of the hubpack tests: a source hub, byte surgery on packs, repacking."""

from __future__ import annotations

import json
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.artifacts import ArtifactStore, sha256_bytes
from hub.catalog import CatalogStore
from hub.config import Settings
from hub.packs.archive import MANIFEST, MANIFEST_DIGEST, write_pack
from hub.packs.manifest import digest_line, dump_manifest

INPUTS = {
    "chemistry.solubility": [
        "CCO",
        "c1ccccc1O",
        "not-a-smiles",
        "[Si](C)(C)(C)O[Si](C)(C)O[Si](C)(C)C",
        "CC(=O)Oc1ccccc1C(=O)O",
    ],
}


@dataclass
class Hub:
    """A hub home: its catalog, artifact store and settings."""

    home: Path
    settings: Settings
    store: CatalogStore
    artifacts: ArtifactStore

    def files(self) -> list[Path]:
        """Every file in the artifact store (temporary ones too)."""
        root = self.artifacts.root
        return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def member_span(pack: bytes, name: str) -> tuple[int, int]:
    """(start, end) of member ``name``'s content in the pack's bytes."""
    with zipfile.ZipFile(__import__("io").BytesIO(pack)) as zf:
        info = zf.getinfo(name)
    n_name, n_extra = struct.unpack("<HH", pack[info.header_offset + 26 : info.header_offset + 30])
    start = info.header_offset + 30 + n_name + n_extra
    return start, start + info.compress_size


def flip(pack: Path, offset: int, out: Path) -> Path:
    data = bytearray(pack.read_bytes())
    data[offset] ^= 0x01
    out.write_bytes(bytes(data))
    return out


def unpack(pack: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(pack) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def repack(
    pack: Path,
    out: Path,
    change: Callable[[dict[str, Any], dict[str, bytes]], None],
    *,
    rehash: bool = True,
) -> Path:
    """A copy of ``pack`` with ``change(manifest, members)`` applied, written canonically;
    with ``rehash``, the manifest's artifact entries and digest are recomputed so that the
    pack is consistent (what a forger would do)."""
    members = unpack(pack)
    manifest = json.loads(members[MANIFEST])
    change(manifest, members)
    if rehash:
        for name, data in list(members.items()):
            if name.startswith("artifacts/") and name != f"artifacts/{sha256_bytes(data)}":
                old = name.removeprefix("artifacts/")
                new = sha256_bytes(data)
                members.pop(name)
                members[f"artifacts/{new}"] = data
                for entry in manifest["artifacts"].values():
                    if entry["sha256"] == old:
                        entry.update(sha256=new, size=len(data))
                manifest["version"]["spec"] = json.loads(
                    json.dumps(manifest["version"]["spec"]).replace(old, new)
                )
        members[MANIFEST] = dump_manifest(manifest)
        members[MANIFEST_DIGEST] = digest_line(sha256_bytes(members[MANIFEST]))
    write_pack(out, members.items())
    return out


def predictions_json(runtime: Any, ref: str, inputs: list[Any]) -> str:
    """The outputs of a prediction as JSON, keys in their order (the version number left
    out, and whether the prediction cache answered): equal strings are the same answer to
    the bit."""
    outputs = runtime.predict(ref, inputs).outputs
    return json.dumps([{k: v for k, v in o.items() if k != "cached"} for o in outputs])
