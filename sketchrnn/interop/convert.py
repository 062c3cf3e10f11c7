"""Weights between our decoder-only model and magenta-js's tensors (the maths of the mapping).

LSTM. magenta-js runs ``tf.basicLSTMCell``: ``[x, h] @ kernel + bias`` with ``kernel = cat(W_xh,
W_hh) [5 + H, 4H]`` split into gates (i, j, f, o), and ``c' = sigmoid(i) tanh(j) + c sigmoid(f +
1.0)`` (forget bias 1.0 added at run time), ``h' = tanh(c') sigmoid(o)``. ``torch.nn.LSTM`` has
``weight_ih [4H, 5]``, ``weight_hh [4H, H]`` and two biases, gates in the order (i, f, g, o) with
g = j. So: transpose, reorder the gate blocks, and fold the forget bias into ``bias_ih``.

Output layer. Both split ``y = h @ output_w + output_b [3 + 6M]`` the same way: three pen logits,
then M each of pi logits, mu_x, mu_y, log sigma_x, log sigma_y, rho_hat (``Decoder._head`` and
``MixtureParams.from_output``; magenta-js's ``getPDF``). magenta-js fixes M = 20, so a model with
fewer components is padded exactly: component j is repeated n_j times and each copy's pi logit
lowered by log(n_j), so the copies' softmax weights add up to the original weight.
"""

from __future__ import annotations

import numpy as np

from sketchrnn.errors import CheckpointError
from sketchrnn.interop.magenta_json import N_MIXTURES

FORGET_BIAS = 1.0  # magenta-js's tf.scalar(1.0), added to the f gate at every step
PREFIX = "decoder."
KEYS = ("rnn.lstm.weight_ih_l0", "rnn.lstm.weight_hh_l0", "rnn.lstm.bias_ih_l0",
        "rnn.lstm.bias_hh_l0", "output.weight", "output.bias")


def _tf_to_torch_gates(a: np.ndarray) -> np.ndarray:
    """Gate blocks on axis 0: TensorFlow (i, j, f, o) -> torch (i, f, g=j, o). ``[4H, ...]``"""
    i, j, f, o = np.split(a, 4, axis=0)
    return np.concatenate([i, f, j, o], axis=0)


def _torch_to_tf_gates(a: np.ndarray) -> np.ndarray:
    """Gate blocks on axis 0: torch (i, f, g, o) -> TensorFlow (i, j=g, f, o). ``[4H, ...]``"""
    i, f, g, o = np.split(a, 4, axis=0)
    return np.concatenate([i, g, f, o], axis=0)


def torch_state(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """magenta-js tensors -> the state dict of ``sketch_rnn_uncond`` (cell "lstm", M = 20)."""
    hidden = tensors["W_hh"].shape[0]
    bias = _tf_to_torch_gates(tensors["bias"].astype(np.float64))  # [4H], torch order
    bias[hidden:2 * hidden] += FORGET_BIAS  # torch's f block: fold in the run-time forget bias
    values = (
        _tf_to_torch_gates(tensors["W_xh"].T),  # [4H, 5]
        _tf_to_torch_gates(tensors["W_hh"].T),  # [4H, H]
        bias,
        np.zeros(4 * hidden),  # torch adds bias_ih + bias_hh; one of them is enough
        tensors["output_w"].T,  # [123, H]
        tensors["output_b"],  # [123]
    )
    return {PREFIX + k: np.ascontiguousarray(v, dtype=np.float32) for k, v in zip(KEYS, values)}


def magenta_tensors(state: dict[str, np.ndarray], n_mixtures: int) -> dict[str, np.ndarray]:
    """The state dict of a plain-LSTM decoder-only model -> magenta-js tensors (float64, before
    quantisation), with the mixture padded to magenta-js's 20 components."""
    get = {k: np.asarray(state[PREFIX + k], dtype=np.float64) for k in KEYS}
    hidden = get["rnn.lstm.weight_hh_l0"].shape[1]
    bias = get["rnn.lstm.bias_ih_l0"] + get["rnn.lstm.bias_hh_l0"]  # [4H], torch order
    bias[hidden:2 * hidden] -= FORGET_BIAS  # magenta-js adds it back at run time
    rows, shift = padded_rows(n_mixtures)
    output_w, output_b = get["output.weight"][rows], get["output.bias"][rows] + shift
    return {
        "output_w": output_w.T,  # [H, 123]
        "output_b": output_b,  # [123]
        "W_xh": _torch_to_tf_gates(get["rnn.lstm.weight_ih_l0"]).T,  # [5, 4H]
        "W_hh": _torch_to_tf_gates(get["rnn.lstm.weight_hh_l0"]).T,  # [H, 4H]
        "bias": _torch_to_tf_gates(bias),  # [4H]
    }


def padded_rows(n_mixtures: int) -> tuple[np.ndarray, np.ndarray]:
    """Output rows of a 3 + 6M layer that make a 3 + 6 * 20 one, and the shift added to each row.

    Component j appears n_j = 20 // M (+1 for the first 20 % M) times; each copy's pi logit is
    lowered by log n_j, so ``sum over copies softmax = n_j exp(pi_j - log n_j) / Z = softmax_j``.
    """
    if not 1 <= n_mixtures <= N_MIXTURES:
        raise CheckpointError(f"the model has {n_mixtures} mixture components; magenta-js uses "
                              f"exactly {N_MIXTURES}", f"train a model with n_mixtures <= {N_MIXTURES}")
    copies = [N_MIXTURES // n_mixtures + (j < N_MIXTURES % n_mixtures) for j in range(n_mixtures)]
    source = np.repeat(np.arange(n_mixtures), copies)  # [20]: the component each copy repeats
    rows = [0, 1, 2] + [3 + p * n_mixtures + j for p in range(6) for j in source]
    shift = np.zeros(3 + 6 * N_MIXTURES)
    shift[3:3 + N_MIXTURES] = -np.log(np.asarray(copies, dtype=np.float64))[source]
    return np.asarray(rows), shift

