"""A Behler-Parrinello neural-network potential in TensorFlow: descriptors, energy, forces, stress.

Each atom's energy is a small MLP of its symmetry functions; the total energy is their sum.
Forces are the exact ``-dE/dR`` and the stress the exact strain derivative ``(1/V) dE/de``, both
by ``tf.GradientTape`` through the descriptors, so MD with the potential conserves energy.

Descriptors of atom i, over neighbours j within the cutoffs (cosine cutoff
``fc(r) = 0.5 (cos(pi r / rc) + 1)``, zero with zero slope at ``rc``):

- radial G2: ``sum_j exp(-eta (r_ij - r_s)^2) fc(r_ij)`` for each ``(eta, r_s)``, where the
  radial cutoff switches from 1 to 0 between ``rc_inner`` and ``rc_radial`` with the same
  cosine (``rc_inner = 0``: Behler's plain cosine cutoff). A cutoff that keeps the fourth fcc
  shell (5.1 Å) at full weight follows EMT's own cutoff (a Fermi step at 5.38 Å for Cu);
- angular G5: ``2^(1-zeta) sum_{j != k} (1 + lambda cos t_ijk)^zeta
  exp(-eta (r_ij^2 + r_ik^2)) fc(r_ij) fc(r_ik)`` (ordered pairs j, k) for each eta,
  zeta and lambda = +-1. The triple sum is evaluated exactly in O(pairs) by expanding
  ``(u_j . u_k)^m`` into moments ``sum_j w_j u_j^(a) u_j^(b) ...`` (m <= zeta) and removing the
  j = k terms.

Neighbour pairs (``i, j`` and the Cartesian cell shift of j) are found in numpy with a k-d tree
over the periodic images (:func:`neighbor_pairs`; the tests check them against
:func:`ase.neighborlist.neighbor_list`, which is about 100 times slower here once the cutoff
exceeds half the cell); distances are computed in TF so they are differentiable.

Units as ASE: Å, eV, eV/Å, eV/Å^3. Shapes: N atoms, P pairs, Q angular pairs, B structures in
one packed batch.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from itertools import product
from math import comb, factorial
from typing import Any

import numpy as np
from ase import Atoms

WEIGHT_KEYS = ("feature_mean", "feature_std", "energy_shift", "energy_scale")


@dataclass(frozen=True)
class DescriptorSpec:
    """Symmetry-function hyperparameters: radial ``(eta 1/Å^2, r_s Å)`` pairs, angular etas
    (1/Å^2), zetas, the cutoffs (Å) and where the radial cutoff starts to switch off (Å)."""

    rc_radial: float = 5.8
    rc_inner: float = 5.2
    rc_angular: float = 4.0
    radial: tuple[tuple[float, float], ...] = field(
        default_factory=lambda: tuple((4.0, 2.0 + 0.25 * k) for k in range(16))
    )
    angular_eta: tuple[float, ...] = (0.02, 0.08, 0.2)
    zetas: tuple[int, ...] = (1, 2)

    @property
    def n_features(self) -> int:
        return len(self.radial) + len(self.angular_eta) * 2 * len(self.zetas)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DescriptorSpec:
        return cls(
            rc_radial=float(raw["rc_radial"]),
            rc_inner=float(raw.get("rc_inner", 0.0)),
            rc_angular=float(raw["rc_angular"]),
            radial=tuple((float(e), float(r)) for e, r in raw["radial"]),
            angular_eta=tuple(float(e) for e in raw["angular_eta"]),
            zetas=tuple(int(z) for z in raw["zetas"]),
        )


def _moment_tables(spec: DescriptorSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exponents (T, 3) of the monomials ``ux^a uy^b uz^c`` with a+b+c = m <= max zeta, the
    (T, M) matrix summing ``coef * moment^2`` into each order m, and the (M, Z) matrix turning
    those orders into G5 for each (zeta, lambda)."""
    top = max(spec.zetas)
    exps = [e for m in range(top + 1) for e in product(range(m + 1), repeat=3) if sum(e) == m]
    order = np.zeros((len(exps), top + 1))
    for t, (a, b, c) in enumerate(exps):
        m = a + b + c
        order[t, m] = factorial(m) / (factorial(a) * factorial(b) * factorial(c))
    combos = [(z, lam) for z in spec.zetas for lam in (1.0, -1.0)]
    g5 = np.zeros((top + 1, len(combos)))
    for col, (z, lam) in enumerate(combos):
        for m in range(z + 1):
            g5[m, col] = 2.0 ** (1 - z) * comb(z, m) * lam**m
    return np.array(exps, dtype=np.int32), order, g5


def descriptors(
    r: Any, pi: Any, pj: Any, ang: Any, n_atoms: Any, spec: DescriptorSpec, dtype: Any
) -> Any:
    """Symmetry functions (N, F) from a half pair list: vectors ``r`` (P, 3) Å from atom ``pi``
    (P,) to atom ``pj`` (P,), each pair once; ``ang`` (Q,) indexes the pairs short enough to
    count in angular terms. A pair adds to both atoms (seen from j, ``u -> -u``)."""
    import tensorflow as tf

    exps, order, g5 = _moment_tables(spec)
    both = tf.concat([pi, pj], axis=0)
    d = tf.sqrt(tf.reduce_sum(r * r, axis=1))
    on, width = spec.rc_inner, spec.rc_radial - spec.rc_inner
    fc = 0.5 * (tf.cos(np.pi * tf.clip_by_value((d - on) / width, 0.0, 1.0)) + 1.0)
    eta = tf.constant([e for e, _ in spec.radial], dtype)
    rs = tf.constant([s for _, s in spec.radial], dtype)
    g2 = tf.exp(-eta * tf.square(d[:, None] - rs)) * fc[:, None]
    rad = tf.math.unsorted_segment_sum(tf.concat([g2, g2], 0), both, n_atoms)

    ra, da = tf.gather(r, ang), tf.gather(d, ang)
    ends = tf.concat([tf.gather(pi, ang), tf.gather(pj, ang)], axis=0)
    fca = 0.5 * (tf.cos(np.pi * tf.minimum(da, spec.rc_angular) / spec.rc_angular) + 1.0)
    w = tf.exp(-tf.constant(spec.angular_eta, dtype) * (da * da)[:, None]) * fca[:, None]
    u = ra / da[:, None]
    u2 = u * u
    powers = tf.stack([tf.ones_like(u), u, u2, u2 * u, u2 * u2][: max(spec.zetas) + 1], axis=1)
    flat = tf.reshape(powers, (-1, 3 * len(order[0])))  # column 3 * power + axis
    mono = (
        tf.gather(flat, 3 * exps[:, 0], axis=1)
        * tf.gather(flat, 3 * exps[:, 1] + 1, axis=1)
        * tf.gather(flat, 3 * exps[:, 2] + 2, axis=1)
    )  # (Q, T)
    parity = tf.constant((-1.0) ** exps.sum(axis=1), dtype)  # monomials of -u
    contrib = w[:, :, None] * mono[:, None, :]  # (Q, A, T)
    moments = tf.math.unsorted_segment_sum(tf.concat([contrib, contrib * parity], 0), ends, n_atoms)
    sums = tf.tensordot(moments * moments, tf.constant(order, dtype), 1)  # (N, A, M)
    self_terms = tf.math.unsorted_segment_sum(tf.concat([w * w, w * w], 0), ends, n_atoms)
    ang5 = tf.tensordot(sums - self_terms[:, :, None], tf.constant(g5, dtype), 1)  # (N, A, Z)
    return tf.concat([rad, tf.reshape(ang5, (n_atoms, -1))], axis=1)


def atomic_energies(x: Any, weights: dict[str, Any], n_layers: int) -> Any:
    """Per-atom energies (N,) in eV from descriptors ``x`` (N, F): standardise, tanh MLP."""
    import tensorflow as tf

    h = (x - weights["feature_mean"]) / weights["feature_std"]
    for k in range(n_layers):
        h = tf.matmul(h, weights[f"w{k}"]) + weights[f"b{k}"]
        if k < n_layers - 1:
            h = tf.tanh(h)
    return h[:, 0] * weights["energy_scale"] + weights["energy_shift"]


def energies(
    pos: Any,
    offsets: Any,
    pi: Any,
    pj: Any,
    ang: Any,
    atom_struct: Any,
    n_struct: Any,
    strain: Any,
    weights: dict[str, Any],
    spec: DescriptorSpec,
    n_layers: int,
) -> Any:
    """Total energies (B,) eV of B packed structures: positions (N, 3) Å, pair shifts (P, 3) Å,
    ``atom_struct`` (N,) the structure of each atom, ``strain`` (B, 3, 3) (zeros; its gradient
    is the virial)."""
    import tensorflow as tf

    r = tf.gather(pos, pj) + offsets - tf.gather(pos, pi)
    r = r + tf.einsum("pa,pab->pb", r, tf.gather(strain, tf.gather(atom_struct, pi)))
    x = descriptors(r, pi, pj, ang, tf.shape(pos)[0], spec, pos.dtype)
    return tf.math.unsorted_segment_sum(
        atomic_energies(x, weights, n_layers), atom_struct, n_struct
    )


@dataclass
class Packed:
    """Structures packed for one call: arrays named as the arguments of :func:`energies`."""

    pos: np.ndarray
    offsets: np.ndarray
    pi: np.ndarray
    pj: np.ndarray
    ang: np.ndarray
    atom_struct: np.ndarray
    n_struct: int


def neighbor_pairs(atoms: Atoms, cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pair within ``cutoff`` Å once (a half list): atom i (P,), atom j (P,) and the
    Cartesian shift (P, 3) Å of j's periodic image, so ``r_ij = x_j + shift - x_i``. Periodic
    images come from a k-d tree over the images of the cell within reach (any cell shape)."""
    from scipy.spatial import cKDTree

    n, pbc = len(atoms), atoms.pbc
    pos = atoms.positions
    if not pbc.any():
        pairs = cKDTree(pos).query_pairs(cutoff, output_type="ndarray").astype(np.int32)
        return pairs[:, 0].copy(), pairs[:, 1].copy(), np.zeros((len(pairs), 3))
    cell = atoms.cell.complete().array  # unit vectors stand in for missing ones
    frac = np.linalg.solve(cell.T, pos.T).T
    wrap = np.where(pbc, np.floor(frac), 0.0)  # x - wrap @ cell lies in the cell
    base = pos - wrap @ cell
    heights = _heights(cell)
    reach = np.where(pbc, np.ceil(cutoff / np.where(pbc, heights, 1.0)), 0).astype(int)
    shifts = (
        np.array([s for s in np.ndindex(*(2 * reach + 1))], dtype=float) - reach
    )  # (S, 3) integer cell shifts
    images = (base[None, :, :] + (shifts @ cell)[:, None, :]).reshape(-1, 3)
    near = cKDTree(base).sparse_distance_matrix(cKDTree(images), cutoff, output_type="ndarray")
    i, k = near["i"].astype(np.int64), near["j"].astype(np.int64)
    j, s = k % n, shifts[k // n]
    keep = (i < j) | ((i == j) & _positive(s))
    i, j, s = i[keep], j[keep], s[keep]
    shift_int = s + wrap[i] - wrap[j]  # x_j + shift - x_i = base_j + s @ cell - base_i
    return i.astype(np.int32), j.astype(np.int32), shift_int @ cell


def _heights(cell: np.ndarray) -> np.ndarray:
    """Distances (3,) Å between opposite faces of the cell (inf along a zero vector)."""
    out = np.full(3, np.inf)
    vol = abs(np.linalg.det(cell))
    for k in range(3):
        cross = np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])
        norm = np.linalg.norm(cross)
        if norm > 0 and vol > 0:
            out[k] = vol / norm
    return out


def _positive(s: np.ndarray) -> np.ndarray:
    """Which integer shifts (S, 3) are lexicographically positive (one of each +-s pair)."""
    first = np.where(s[:, 0] != 0, s[:, 0], np.where(s[:, 1] != 0, s[:, 1], s[:, 2]))
    return first > 0


def pack(
    items: list[tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]],
    rc_angular: float,
) -> Packed:
    """Pack ``(positions (n, 3), (i, j, shifts))`` of several structures into one call."""
    pos, off, pi, pj, ang, owner = [], [], [], [], [], []
    n0 = p0 = 0
    for s, (x, (i, j, sh)) in enumerate(items):
        d = np.linalg.norm(x[j] + sh - x[i], axis=1)
        pos.append(x)
        off.append(sh)
        pi.append(i + n0)
        pj.append(j + n0)
        ang.append(np.flatnonzero(d < rc_angular) + p0)
        owner.append(np.full(len(x), s, np.int32))
        n0, p0 = n0 + len(x), p0 + len(i)
    cat = np.concatenate
    return Packed(
        cat(pos), cat(off), cat(pi).astype(np.int32), cat(pj).astype(np.int32),
        cat(ang).astype(np.int32), cat(owner), len(items),
    )  # fmt: skip


class NNPotential:
    """A trained potential for inference: weights (float arrays), one compiled ``tf.function``
    with relaxed shapes (traced once, any number of atoms), and a neighbour list reused while
    no atom has moved more than half the skin (as ASE's ``NeighborList``)."""

    def __init__(
        self,
        weights: dict[str, np.ndarray],
        spec: DescriptorSpec,
        *,
        elements: tuple[str, ...] = ("Cu",),
        skin: float = 0.5,
    ) -> None:
        import tensorflow as tf

        self.spec, self.elements, self.skin = spec, tuple(elements), skin
        missing = [k for k in (*WEIGHT_KEYS, "w0", "b0") if k not in weights]
        if missing or np.shape(weights["w0"])[0] != spec.n_features:
            raise ValueError(
                f"weights do not fit the descriptor: missing {missing}, or w0 is not "
                f"({spec.n_features}, hidden)"
            )
        self.n_layers = sum(1 for k in weights if k.startswith("w") and k[1:].isdigit())
        consts = {k: tf.constant(np.asarray(v, np.float64)) for k, v in weights.items()}
        f64, i32 = tf.float64, tf.int32
        sig = [
            tf.TensorSpec((None, 3), f64), tf.TensorSpec((None, 3), f64),
            tf.TensorSpec((None,), i32), tf.TensorSpec((None,), i32), tf.TensorSpec((None,), i32),
            tf.TensorSpec((None,), i32), tf.TensorSpec((), i32), tf.TensorSpec((None, 3, 3), f64),
        ]  # fmt: skip

        @tf.function(input_signature=sig, reduce_retracing=True, autograph=False)
        def run(pos, offsets, pi, pj, ang, atom_struct, n_struct, strain):  # noqa: ANN001, ANN202
            with tf.GradientTape() as tape:
                tape.watch([pos, strain])
                e = energies(
                    pos, offsets, pi, pj, ang, atom_struct, n_struct, strain,
                    consts, spec, self.n_layers,
                )  # fmt: skip
                total = tf.reduce_sum(e)
            grad_pos, grad_strain = tape.gradient(total, [pos, strain])
            return e, -tf.convert_to_tensor(grad_pos), tf.convert_to_tensor(grad_strain)

        self._run = run
        self._local = threading.local()
        probe = Atoms("Cu2", positions=[[0, 0, 0], [2.5, 0, 0]])
        self.evaluate([probe])  # trace now, not on the first request

    def _pairs(self, atoms: Atoms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The cached pair list (cutoff + skin) when still valid for ``atoms``, else a new one."""
        cache = getattr(self._local, "cache", None)
        if (
            cache is not None
            and len(cache[0]) == len(atoms)
            and np.array_equal(cache[1], atoms.pbc)
            and np.array_equal(cache[2], atoms.cell.array)
            and np.linalg.norm(atoms.positions - cache[0], axis=1).max() < 0.5 * self.skin
        ):
            return cache[3]
        pairs = neighbor_pairs(atoms, self.spec.rc_radial + self.skin)
        self._local.cache = (
            atoms.positions.copy(),
            atoms.pbc.copy(),
            atoms.cell.array.copy(),
            pairs,
        )
        return pairs

    def evaluate(self, structures: list[Atoms]) -> list[dict[str, Any]]:
        """Energy (eV), forces (n, 3) eV/Å and, for fully periodic cells, stress (6,) eV/Å^3
        in Voigt order (xx, yy, zz, yz, xz, xy) of each structure, in one compiled call."""
        items = [
            (a.positions, self._pairs(a) if len(structures) == 1 else self._fresh(a))
            for a in structures
        ]
        p = pack(items, self.spec.rc_angular)
        e, f, virial = self._run(
            p.pos, p.offsets, p.pi, p.pj, p.ang, p.atom_struct, np.int32(p.n_struct),
            np.zeros((p.n_struct, 3, 3)),
        )  # fmt: skip
        e, f, virial = e.numpy(), f.numpy(), virial.numpy()
        out, n0 = [], 0
        for s, atoms in enumerate(structures):
            res: dict[str, Any] = {"energy": float(e[s]), "forces": f[n0 : n0 + len(atoms)]}
            if atoms.pbc.all():
                v = 0.5 * (virial[s] + virial[s].T) / atoms.get_volume()
                res["stress"] = v[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
            out.append(res)
            n0 += len(atoms)
        return out

    def _fresh(self, atoms: Atoms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return neighbor_pairs(atoms, self.spec.rc_radial)


def save_weights(weights: dict[str, np.ndarray]) -> bytes:
    """The weights as ``.npz`` bytes of float64 arrays (no pickled objects)."""
    import io

    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v, np.float64) for k, v in weights.items()})
    return buf.getvalue()


def load_weights(data: bytes) -> dict[str, np.ndarray]:
    """Weights from ``.npz`` bytes, with ``allow_pickle=False``."""
    import io

    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: np.asarray(z[k], np.float64) for k in z.files}
