"""A directed-bond message-passing network (D-MPNN, Yang et al., J. Chem. Inf. Model. 59,
3370 (2019), as in chemprop) in Keras 3 on RDKit molecular graphs, for molecular properties.

Featurization (:func:`featurize`): each heavy atom a one-hot vector of element, degree, formal
charge, hydrogens, hybridisation, plus aromaticity, ring membership and mass / 100
(:data:`ATOM_FEATURES` columns); each bond two directed edges (``2k`` and ``2k + 1``, each
other's reverse) with bond type, conjugation and ring membership (:data:`BOND_FEATURES`).
A batch of molecules is padded to its largest molecule (:class:`Graphs`, masks mark the real
atoms and edges); the model accepts any padding, so new molecules need not fit the training
padding.

Network (:func:`build_model`): hidden state of edge v->w ``h0 = relu(W_i [x_v, e_vw])``; for
``depth - 1`` steps, ``h = relu(h0 + W_m (sum of h over edges into v - h of w->v))``; atom
state ``relu(W_a [x_v, sum of h over edges into v])``, summed over the atoms (a molecule's
vector grows with its size, as solubility does), optionally concatenated with standardised
molecular descriptors, then a feed-forward head. The target's scale is built in, so the model
maps graphs to the property in its unit. Its custom layers are registered, so a saved
``.keras`` file loads with ``safe_mode=True``.

:func:`fit` trains an ensemble of such networks (seeded, early stopping on a validation part);
:func:`predict` gives the members' mean and spread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rdkit import Chem

import hub.sdk  # noqa: F401 - the door sets the TensorFlow log level before Keras

# isort: split
import keras
from keras import ops

ELEMENTS = ("B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Br", "I")
HYBRIDISATIONS = (
    Chem.rdchem.HybridizationType.SP,
    Chem.rdchem.HybridizationType.SP2,
    Chem.rdchem.HybridizationType.SP3,
    Chem.rdchem.HybridizationType.SP3D,
    Chem.rdchem.HybridizationType.SP3D2,
)
BOND_TYPES = (
    Chem.rdchem.BondType.SINGLE,
    Chem.rdchem.BondType.DOUBLE,
    Chem.rdchem.BondType.TRIPLE,
    Chem.rdchem.BondType.AROMATIC,
)
ATOM_FEATURES = (len(ELEMENTS) + 1) + 7 + 4 + 6 + (len(HYBRIDISATIONS) + 1) + 3
BOND_FEATURES = len(BOND_TYPES) + 2


def _onehot(value: Any, choices: Sequence[Any]) -> list[float]:
    """One-hot of ``value`` among ``choices``, with a last "other" slot."""
    out = [0.0] * (len(choices) + 1)
    out[choices.index(value) if value in choices else len(choices)] = 1.0
    return out


def atom_features(atom: Chem.Atom) -> list[float]:
    """The :data:`ATOM_FEATURES` features of a heavy atom (independent of atom order)."""
    return (
        _onehot(atom.GetSymbol(), ELEMENTS)
        + _onehot(atom.GetDegree(), (0, 1, 2, 3, 4, 5))
        + _onehot(atom.GetFormalCharge(), (-1, 0, 1))
        + _onehot(atom.GetTotalNumHs(), (0, 1, 2, 3, 4))
        + _onehot(atom.GetHybridization(), HYBRIDISATIONS)
        + [float(atom.GetIsAromatic()), float(atom.IsInRing()), atom.GetMass() / 100.0]
    )


def bond_features(bond: Chem.Bond) -> list[float]:
    """The :data:`BOND_FEATURES` features of a bond: type one-hot, conjugated, in ring."""
    kind = [float(bond.GetBondType() == t) for t in BOND_TYPES]
    return [*kind, float(bond.GetIsConjugated()), float(bond.IsInRing())]


@dataclass(frozen=True)
class Graphs:
    """Padded molecular graphs of ``n`` molecules: ``atoms`` (n, A, ATOM_FEATURES),
    ``atom_mask`` (n, A), ``bonds`` (n, E, BOND_FEATURES) of directed edges (edge ``2k + 1``
    is edge ``2k`` reversed), their ``src`` and ``dst`` atom indices (n, E) int32 and
    ``edge_mask`` (n, E); all float32 but the indices."""

    atoms: np.ndarray
    atom_mask: np.ndarray
    bonds: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    edge_mask: np.ndarray

    def inputs(self, rows: np.ndarray | slice | None = None) -> dict[str, np.ndarray]:
        """The model's inputs (of ``rows``), cropped to the largest molecule among them."""
        sel = slice(None) if rows is None else rows
        a = max(1, int(self.atom_mask[sel].sum(1).max()))
        e = max(2, int(self.edge_mask[sel].sum(1).max()))
        return {
            "atoms": self.atoms[sel][:, :a],
            "atom_mask": self.atom_mask[sel][:, :a],
            "bonds": self.bonds[sel][:, :e],
            "src": self.src[sel][:, :e],
            "dst": self.dst[sel][:, :e],
            "edge_mask": self.edge_mask[sel][:, :e],
        }


def featurize(mols: Sequence[Chem.Mol]) -> Graphs:
    """RDKit molecules (heavy atoms only) as :class:`Graphs`, padded to the largest one."""
    n = len(mols)
    a_max = max([1] + [m.GetNumAtoms() for m in mols])
    e_max = max([2] + [2 * m.GetNumBonds() for m in mols])
    atoms = np.zeros((n, a_max, ATOM_FEATURES), np.float32)
    atom_mask = np.zeros((n, a_max), np.float32)
    bonds = np.zeros((n, e_max, BOND_FEATURES), np.float32)
    src = np.zeros((n, e_max), np.int32)
    dst = np.zeros((n, e_max), np.int32)
    edge_mask = np.zeros((n, e_max), np.float32)
    for i, mol in enumerate(mols):
        for atom in mol.GetAtoms():
            atoms[i, atom.GetIdx()] = atom_features(atom)
        atom_mask[i, : mol.GetNumAtoms()] = 1.0
        for k, bond in enumerate(mol.GetBonds()):
            u, v, f = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx(), bond_features(bond)
            bonds[i, 2 * k] = bonds[i, 2 * k + 1] = f
            src[i, 2 * k], dst[i, 2 * k], src[i, 2 * k + 1], dst[i, 2 * k + 1] = u, v, v, u
        edge_mask[i, : 2 * mol.GetNumBonds()] = 1.0
    return Graphs(atoms, atom_mask, bonds, src, dst, edge_mask)


@keras.saving.register_keras_serializable(package="chemistry")
class DirectedMessagePassing(keras.layers.Layer):
    """D-MPNN encoder: padded graphs (the :meth:`Graphs.inputs` dict) to one vector per
    molecule (batch, hidden), the sum of its atoms' states (see the module docstring)."""

    def __init__(self, hidden: int = 128, depth: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hidden, self.depth = int(hidden), int(depth)
        self.w_i = keras.layers.Dense(self.hidden, use_bias=False)
        self.w_m = keras.layers.Dense(self.hidden, use_bias=False)
        self.w_a = keras.layers.Dense(self.hidden, activation="relu")

    def build(self, input_shape: dict[str, Any]) -> None:
        fa, fb = input_shape["atoms"][-1], input_shape["bonds"][-1]
        self.w_i.build((None, None, fa + fb))
        self.w_m.build((None, None, self.hidden))
        self.w_a.build((None, None, fa + self.hidden))
        self.built = True

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "hidden": self.hidden, "depth": self.depth}

    def call(self, g: dict[str, Any]) -> Any:
        atoms, edge_mask = g["atoms"], ops.expand_dims(g["edge_mask"], -1)
        n_atoms = ops.shape(atoms)[1]
        # incidence (batch, E, A) of each real edge's source and destination atom
        inc_src = ops.one_hot(ops.cast(g["src"], "int32"), n_atoms) * edge_mask
        inc_dst = ops.one_hot(ops.cast(g["dst"], "int32"), n_atoms) * edge_mask
        x_src = ops.einsum("bea,baf->bef", inc_src, atoms)
        h0 = ops.relu(self.w_i(ops.concatenate([x_src, g["bonds"]], -1))) * edge_mask
        h = h0
        for _ in range(self.depth - 1):
            into = ops.einsum("bea,beh->bah", inc_dst, h)  # sum of messages into each atom
            shape = ops.shape(h)
            pairs = ops.reshape(h, (shape[0], shape[1] // 2, 2, self.hidden))
            reverse = ops.reshape(ops.flip(pairs, axis=2), shape)
            m = ops.einsum("bea,bah->beh", inc_src, into) - reverse
            h = ops.relu(h0 + self.w_m(m)) * edge_mask
        into = ops.einsum("bea,beh->bah", inc_dst, h)
        state = self.w_a(ops.concatenate([atoms, into], -1))
        return ops.sum(state * ops.expand_dims(g["atom_mask"], -1), axis=1)

    def compute_output_shape(self, input_shape: dict[str, Any]) -> tuple[Any, int]:
        return (input_shape["atoms"][0], self.hidden)


@dataclass(frozen=True)
class MPNNParams:
    """Network and training: ``hidden`` width and ``depth`` message-passing steps, a head of
    ``ffn`` units with ``dropout``; Adam at ``learning_rate``, at most ``epochs`` epochs,
    early stopping after ``patience`` epochs without a better validation MSE, ``batch_size``
    molecules a step; ``members`` networks, each with its own seed."""

    hidden: int = 128
    depth: int = 3
    ffn: int = 128
    dropout: float = 0.0
    learning_rate: float = 1e-3
    epochs: int = 80
    patience: int = 15
    batch_size: int = 50
    members: int = 3


def build_model(
    p: MPNNParams, y_mean: float, y_std: float, descriptors: np.ndarray | None = None
) -> keras.Model:
    """An untrained D-MPNN mapping :meth:`Graphs.inputs` (plus ``descriptors`` (batch, D)
    when training descriptors (n, D) are given: standardised with their statistics inside the
    model) to the property, (batch, 1), its scale ``y_mean``, ``y_std`` built in."""
    inp = {
        "atoms": keras.Input((None, ATOM_FEATURES), name="atoms"),
        "atom_mask": keras.Input((None,), name="atom_mask"),
        "bonds": keras.Input((None, BOND_FEATURES), name="bonds"),
        "src": keras.Input((None,), dtype="int32", name="src"),
        "dst": keras.Input((None,), dtype="int32", name="dst"),
        "edge_mask": keras.Input((None,), name="edge_mask"),
    }
    z = DirectedMessagePassing(p.hidden, p.depth, name="mpnn")(inp)
    if descriptors is not None:
        inp["descriptors"] = keras.Input((descriptors.shape[1],), name="descriptors")
        var = np.maximum(descriptors.var(0), 1e-2)
        norm = keras.layers.Normalization(mean=descriptors.mean(0), variance=var)
        z = keras.layers.Concatenate()([z, norm(inp["descriptors"])])
    z = keras.layers.Dense(p.ffn, activation="relu")(z)
    if p.dropout:
        z = keras.layers.Dropout(p.dropout)(z)
    out = keras.layers.Rescaling(scale=y_std, offset=y_mean)(keras.layers.Dense(1)(z))
    return keras.Model(inp, out)


def _inputs(g: Graphs, rows: np.ndarray, descriptors: np.ndarray | None) -> dict[str, np.ndarray]:
    out = g.inputs(rows)
    if descriptors is not None:
        out["descriptors"] = descriptors[rows].astype(np.float32)
    return out


def size_batches(g: Graphs, rows: np.ndarray, size: int, rng: Any = None) -> list[np.ndarray]:
    """``rows`` in batches of ``size`` molecules of similar atom counts (each batch is cropped
    to its largest molecule, so padding costs little); with a numpy ``rng``, the sizes are
    jittered and the batches shuffled (training)."""
    n_atoms = g.atom_mask[rows].sum(1)
    if rng is not None:
        n_atoms = n_atoms + rng.uniform(0, 3, len(rows))
    ordered = np.asarray(rows)[np.argsort(n_atoms, kind="stable")]
    batches = [ordered[i : i + size] for i in range(0, len(ordered), size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def fit(
    g: Graphs,
    y: np.ndarray,
    train: np.ndarray,
    val: np.ndarray,
    p: MPNNParams = MPNNParams(),
    seed: int = 0,
    descriptors: np.ndarray | None = None,
) -> list[keras.Model]:
    """``p.members`` networks trained on rows ``train`` of graphs ``g`` and targets ``y``
    (n,) in the property's unit, each stopped early on rows ``val`` (best weights kept);
    member ``k`` seeded ``seed * 100 + k``. ``descriptors`` (n, D): extra molecular inputs.
    Batches group molecules of similar size (:func:`size_batches`)."""
    y = np.asarray(y, np.float32)
    d_train = None if descriptors is None else descriptors[train]
    models = []
    for k in range(p.members):
        keras.utils.set_random_seed(seed * 100 + k)
        rng = np.random.default_rng(seed * 100 + k)
        model = build_model(p, float(y[train].mean()), float(y[train].std() or 1.0), d_train)
        model.compile(
            optimizer=keras.optimizers.Adam(p.learning_rate), loss="mse", jit_compile=False
        )
        best, best_weights, waited = np.inf, model.get_weights(), 0
        for _ in range(p.epochs):
            for b in size_batches(g, train, p.batch_size, rng):
                model.train_on_batch(_inputs(g, b, descriptors), y[b][:, None])
            val_mse = float(np.mean((predict([model], g, val, descriptors)[0] - y[val]) ** 2))
            if val_mse < best:
                best, best_weights, waited = val_mse, model.get_weights(), 0
            else:
                waited += 1
                if waited >= p.patience:
                    break
        model.set_weights(best_weights)
        models.append(model)
    return models


def predict(
    models: Sequence[keras.Model],
    g: Graphs,
    rows: np.ndarray | None = None,
    descriptors: np.ndarray | None = None,
    batch: int = 128,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread over the members ``models`` of rows ``rows`` (all: None) of ``g``,
    each (n,) in the property's unit, ``batch`` molecules of similar size at a time."""
    rows = np.arange(len(g.atoms)) if rows is None else np.asarray(rows)
    position = {int(r): i for i, r in enumerate(rows)}
    out = np.zeros((len(rows), len(models)), np.float32)
    for b in size_batches(g, rows, batch):
        at = [position[int(r)] for r in b]
        x = _inputs(g, b, descriptors)
        for k, model in enumerate(models):
            out[at, k] = np.asarray(model(x, training=False))[:, 0]
    return out.mean(1), out.std(1)
