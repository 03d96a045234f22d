"""Training of the Behler-Parrinello potential on energies, forces and stresses (TF, Adam).

Loss per batch of structures: ``energy_weight * mean(((E_pred - E) / n_atoms)^2) +
mean((F_pred - F)^2) + stress_weight * mean((S_pred - S)^2)`` in eV^2/atom^2, eV^2/Å^2 and GPa^2
(stress over the fully periodic cells only); forces ``-dE/dR`` and stress ``(1/V) dE/de`` come
from a nested ``tf.GradientTape``. One ``tf.function`` with relaxed shapes serves every batch.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from domains.physics.nnp import DescriptorSpec, descriptors, energies, neighbor_pairs, pack
from domains.physics.nnp_data import Config


def _signature(dtype: Any) -> list[Any]:
    import tensorflow as tf

    i32 = tf.int32
    return [
        tf.TensorSpec((None, 3), dtype), tf.TensorSpec((None, 3), dtype),
        tf.TensorSpec((None,), i32), tf.TensorSpec((None,), i32), tf.TensorSpec((None,), i32),
        tf.TensorSpec((None,), i32), tf.TensorSpec((), i32),
    ]  # fmt: skip


class Batches:
    """Configurations with their pair lists, packed into batches of ``size`` structures."""

    def __init__(self, configs: list[Config], spec: DescriptorSpec) -> None:
        self.configs = configs
        self.spec = spec
        self.items = [(c.atoms.positions, neighbor_pairs(c.atoms, spec.rc_radial)) for c in configs]
        self.energy = np.array([c.energy for c in configs])
        self.n_atoms = np.array([len(c.atoms) for c in configs], dtype=float)
        voigt = [[0, 5, 4], [5, 1, 3], [4, 3, 2]]
        self.stress = np.array(
            [np.zeros((3, 3)) if c.stress is None else c.stress[voigt] for c in configs]
        )  # (n, 3, 3) eV/Å^3
        self.has_stress = np.array([float(c.stress is not None) for c in configs])
        self.volume = np.array([abs(c.atoms.cell.volume) or 1.0 for c in configs])

    def batch(self, idx: np.ndarray) -> tuple[Any, ...]:
        """Packed inputs and targets: energies (B,) eV, atom counts (B,), forces (N, 3) eV/Å,
        stresses (B, 3, 3) eV/Å^3, which structures have one (B,) and volumes (B,) Å^3."""
        p = pack([self.items[k] for k in idx], self.spec.rc_angular)
        forces = np.concatenate([self.configs[k].forces for k in idx])
        inputs = (p.pos, p.offsets, p.pi, p.pj, p.ang, p.atom_struct, np.int32(p.n_struct))
        targets = (self.energy[idx], self.n_atoms[idx], forces, self.stress[idx],
                   self.has_stress[idx], self.volume[idx])  # fmt: skip
        return inputs, *targets

    def split(self, size: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
        order = rng.permutation(len(self.items)) if rng is not None else np.arange(len(self.items))
        return [order[k : k + size] for k in range(0, len(order), size)]


def feature_stats(data: Batches, spec: DescriptorSpec, limit: int = 400) -> tuple[Any, Any]:
    """Mean and standard deviation (F,) of the descriptors over up to ``limit`` structures."""
    import tensorflow as tf

    @tf.function(input_signature=_signature(tf.float64), reduce_retracing=True, autograph=False)
    def describe(pos, offsets, pi, pj, ang, atom_struct, n_struct):  # noqa: ANN001, ANN202
        r = tf.gather(pos, pj) + offsets - tf.gather(pos, pi)
        return descriptors(r, pi, pj, ang, tf.shape(pos)[0], spec, tf.float64)

    rows = []
    for idx in data.split(64)[: max(1, limit // 64)]:
        rows.append(describe(*data.batch(idx)[0]).numpy())
    x = np.concatenate(rows)
    return x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)


def init_weights(
    spec: DescriptorSpec, hidden: list[int], data: Batches, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Glorot-normal layers, descriptor standardisation and per-atom energy shift and scale."""
    mean, std = feature_stats(data, spec)
    per_atom = data.energy / data.n_atoms
    w: dict[str, np.ndarray] = {
        "feature_mean": mean,
        "feature_std": std,
        "energy_shift": np.array(per_atom.mean()),
        "energy_scale": np.array(max(per_atom.std(), 1e-3)),
    }
    sizes = [spec.n_features, *hidden, 1]
    for k, (a, b) in enumerate(itertools.pairwise(sizes)):
        w[f"w{k}"] = rng.normal(0, np.sqrt(2.0 / (a + b)), (a, b))
        w[f"b{k}"] = np.zeros(b)
    return w


def fit(
    train: list[Config],
    spec: DescriptorSpec,
    p: dict[str, Any],
    progress: Callable[[float, str], None] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Trained weights (float64 arrays) and a training log (loss per epoch, seconds)."""
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(int(p["seed"]))
    tf.random.set_seed(int(p["seed"]))
    data = Batches(train, spec)
    w0 = init_weights(spec, list(p["hidden"]), data, rng)
    trainable = [k for k in w0 if k[0] in "wb" and k[1:].isdigit()]
    dtype = tf.float32 if p.get("dtype", "float32") == "float32" else tf.float64
    var = {k: tf.Variable(tf.constant(v, dtype), trainable=k in trainable) for k, v in w0.items()}
    n_layers = len(p["hidden"]) + 1
    epochs, size = int(p["epochs"]), int(p["batch_size"])
    steps = epochs * len(data.split(size))
    lr = keras.optimizers.schedules.ExponentialDecay(
        float(p["lr"]), steps, float(p["lr_final"]) / float(p["lr"])
    )
    opt = keras.optimizers.Adam(learning_rate=lr)
    weights_list = [var[k] for k in trainable]
    rho = tf.constant(float(p["energy_weight"]), dtype)
    rho_s = tf.constant(float(p.get("stress_weight", 0.0)), dtype)
    gpa = 160.21766208  # GPa per eV/Å^3

    sig = [
        *_signature(dtype),
        tf.TensorSpec((None,), dtype), tf.TensorSpec((None,), dtype),
        tf.TensorSpec((None, 3), dtype), tf.TensorSpec((None, 3, 3), dtype),
        tf.TensorSpec((None,), dtype), tf.TensorSpec((None,), dtype),
    ]  # fmt: skip

    @tf.function(input_signature=sig, reduce_retracing=True, autograph=False)
    def step(*args: Any) -> Any:
        pos, offsets, pi, pj, ang, atom_struct, n_struct, e_ref, n_at, f_ref, s_ref, s_on, vol = (
            args
        )
        strain = tf.zeros((n_struct, 3, 3), dtype)
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch([pos, strain])
                e = energies(
                    pos, offsets, pi, pj, ang, atom_struct, n_struct, strain, var, spec, n_layers
                )
                total = tf.reduce_sum(e)
            g_pos, g_strain = inner.gradient(total, [pos, strain])
            f = -tf.convert_to_tensor(g_pos)
            virial = tf.convert_to_tensor(g_strain)
            s = 0.5 * (virial + tf.transpose(virial, (0, 2, 1))) / vol[:, None, None]
            e_loss = tf.reduce_mean(tf.square((e - e_ref) / n_at))
            f_loss = tf.reduce_mean(tf.square(f - f_ref))
            s_err = tf.reduce_sum(tf.square(gpa * (s - s_ref)), axis=(1, 2)) / 9.0
            s_loss = tf.reduce_sum(s_on * s_err) / tf.maximum(tf.reduce_sum(s_on), 1.0)
            loss = rho * e_loss + f_loss + rho_s * s_loss
        opt.apply_gradients(zip(outer.gradient(loss, weights_list), weights_list, strict=True))
        return e_loss, f_loss, s_loss

    cast = np.float32 if dtype == tf.float32 else np.float64
    log: dict[str, Any] = {"epochs": [], "seconds": 0.0}
    start = time.perf_counter()
    for epoch in range(epochs):
        losses = []
        for idx in data.split(size, rng):
            inputs, *targets = data.batch(idx)
            pos, off, *ints = inputs
            out = step(
                pos.astype(cast), off.astype(cast), *ints, *(t.astype(cast) for t in targets)
            )
            losses.append([float(x) for x in out])
        e_rmse, f_rmse, s_rmse = np.sqrt(np.mean(losses, axis=0))
        log["epochs"].append({"epoch": epoch + 1, "energy_rmse_ev_per_atom": float(e_rmse),
                              "force_rmse_ev_per_angstrom": float(f_rmse),
                              "stress_rmse_gpa": float(s_rmse)})  # fmt: skip
        if progress is not None:
            progress(
                (epoch + 1) / epochs,
                f"epoch {epoch + 1}/{epochs}: train RMSE {1e3 * e_rmse:.2f} meV/atom, "
                f"{f_rmse:.3f} eV/Å, {s_rmse:.2f} GPa",
            )
    log["seconds"] = time.perf_counter() - start
    return {k: v.numpy().astype(np.float64) for k, v in var.items()}, log
