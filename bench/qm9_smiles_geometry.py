"""Would a GFN2-xTB relaxation of the SMILES geometry help ``physics.qm9-gap``?

The served model embeds a SMILES with RDKit ETKDG + MMFF94. This relaxes those same structures
further with GFN2-xTB (tblite through ASE, BFGS to 0.05 eV/Å) and prints the test MAE of the
registered model on the recipe's own first ``--n`` test molecules at three geometries: QM9's
DFT one, MMFF94, and MMFF94 then GFN2-xTB.

    .venv/bin/hub build physics.qm9-gap    # the model, in ./registry.db
    .venv/bin/python bench/qm9_smiles_geometry.py [--n 300]

About a minute on 2 cores (0.2 s a relaxation).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # tblite reads it when it loads

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domains.physics import qm9
from domains.physics.recipes_qm9 import QM9_GAP, _split
from domains.physics.structures import atoms_to_json, embed_smiles
from hub.build import effective_params
from hub.config import load_settings
from hub.runtime import Runtime


def relax_gfn2(atoms, fmax: float = 0.05, steps: int = 300):
    """A copy of ``atoms`` relaxed with GFN2-xTB to ``fmax`` eV/Å."""
    from ase.optimize import BFGS
    from tblite.ase import TBLite

    relaxed = atoms.copy()
    relaxed.calc = TBLite(method="GFN2-xTB", verbosity=0)
    BFGS(relaxed, logfile=None).run(fmax=fmax, steps=steps)
    return relaxed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300, help="test molecules (the recipe uses 300)")
    args = ap.parse_args()
    _, _, test = _split(qm9.count_rows(), effective_params(QM9_GAP))
    data = qm9.load_qm9(np.sort(test[: args.n]))
    geometries: dict[str, list] = {"DFT (QM9)": [], "MMFF94": [], "MMFF94 + GFN2-xTB": []}
    kept, seconds = [], 0.0
    for k, smiles in enumerate(data.smiles):
        try:
            embedded = embed_smiles(smiles)
        except Exception:  # noqa: BLE001 - as in the recipe: an embedding failure is left out
            continue
        started = time.perf_counter()
        relaxed = relax_gfn2(embedded)
        seconds += time.perf_counter() - started
        geometries["DFT (QM9)"].append(atoms_to_json(data.atoms(k)))
        geometries["MMFF94"].append(atoms_to_json(embedded))
        geometries["MMFF94 + GFN2-xTB"].append(atoms_to_json(relaxed))
        kept.append(k)
    y = data.targets["gap"][kept]
    runtime = Runtime(load_settings())
    print(f"physics.qm9-gap on {len(kept)} test molecules ({len(data) - len(kept)} not embedded)")
    for name, inputs in geometries.items():
        pred = np.array([o["value"] for o in runtime.predict("physics.qm9-gap", inputs).outputs])
        print(f"  {name:<20} MAE {np.abs(pred - y).mean():.3f} eV")
    print(f"  GFN2-xTB relaxation: {seconds / len(kept):.2f} s a molecule")


if __name__ == "__main__":
    main()
