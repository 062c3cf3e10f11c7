"""Drawing with a Sketch-RNN: batched sampling, conditional, completion, latent interpolation.

``n`` sketches are decoded together: one ``decode_step`` for the whole batch per time step, each
sketch stopping at its own end-of-sketch (p3) through a ``finished`` mask, and the loop ends as
soon as all are finished. Outputs are stroke-3 arrays in normalised units (multiply the offsets by
the checkpoint's ``scale`` for pixels).

RNG design (why batched equals one-at-a-time). All randomness a sketch will ever need is drawn
up front, sketch by sketch, in a fixed order: for sketch ``i``, its latent ``z_i ~ N(0, I)``
(VAE without a given ``z``), then ``u_i ~ U[0, 1) [max_len, 2]`` (mixture component, pen state)
and ``eps_i ~ N(0, 1) [max_len, 2]`` (the bivariate normal). Step ``t`` of sketch ``i`` only reads
row ``t`` of its own block; component and pen are chosen by inverse CDF, so one uniform decides each
choice whatever the probabilities are. Hence ``sample(model, n, generator=g)`` equals ``n`` calls
of ``sample(model, 1, generator=g)`` on the same generator stream (up to float rounding of batched
matmuls), and a sketch never depends on which other sketches share its batch or when they end.
The cost is ``3 n`` small draws before decoding, not inside the loop; greedy mode draws only a
VAE's ``z``. (Drawing for the whole batch at once would tie a sketch's randomness to its batch,
so ``draw_step`` draws from these blocks.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sketchrnn.config import (DEFAULT_TEMPERATURE, DEFAULT_TEMPERATURE_STYLE, MAX_TEMPERATURE, MIN_TEMPERATURE,
                              TEMPERATURE_STYLES)
from sketchrnn.data.strokes import stroke3_to_stroke5
from sketchrnn.errors import InputError
from sketchrnn.model.encoder import reparameterize
from sketchrnn.model.mixture import MixtureParams, bounded

SketchInput = tuple[Tensor, Tensor] | Sequence[np.ndarray]  # (x [B,T,5], lengths [B]) | stroke-3s


def temperature_factors(temperature: float, style: str = DEFAULT_TEMPERATURE_STYLE) -> tuple[float, float]:
    """``(logit divisor, variance factor)`` for the pi and pen logits and for sigma^2.

    "paper" divides the logits by T; "magenta-js" (@magenta/sketch's ``getPDF``) divides them by
    ``0.5 + 0.5 T``, so a model samples here as it does in the browser. Both multiply sigma by
    ``sqrt(T)``.
    """
    if style == "paper":
        return temperature, temperature
    if style == "magenta-js":
        return 0.5 + 0.5 * temperature, temperature
    raise ValueError(f"unknown temperature style {style!r}; use one of {TEMPERATURE_STYLES}")


def choice_probs(mixture: MixtureParams, q_logits: Tensor, temperature: float,
                 style: str = DEFAULT_TEMPERATURE_STYLE) -> tuple[Tensor, Tensor]:
    """Tempered component and pen probabilities ``(pi [B, M], q [B, 3])`` (``temperature_factors``
    says how each style turns T into a logit divisor)."""
    divisor, _ = temperature_factors(temperature, style)
    return F.softmax(mixture.pi_logits / divisor, -1), F.softmax(q_logits / divisor, -1)


def draw_step(mixture: MixtureParams, q_logits: Tensor, u: Tensor | None, eps: Tensor | None,
              temperature: float, greedy: bool = False, style: str = DEFAULT_TEMPERATURE_STYLE,
              ) -> tuple[Tensor, Tensor, Tensor]:
    """One point per row from the decoder's outputs: ``(dx [B], dy [B], pen [B] in {0, 1, 2})``.

    Temperature as in the paper (Sec. 4.2): Pi_hat / T, q_hat / T and
    sigma^2 * T (magenta's ``sample_gaussian_2d(..., np.sqrt(temp))`` ends up with sigma * T;
    its ``adjust_temp`` on the logits matches); ``style="magenta-js"`` divides the logits by
    0.5 + 0.5 T instead. ``u [B, 2]`` picks the component and the pen
    state by inverse CDF, ``eps [B, 2]`` draws the bivariate normal (Eq. 9); greedy takes the
    argmaxes and the chosen component's mean (magenta's greedy mode).
    """
    if greedy:
        k = mixture.pi_logits.argmax(-1, keepdim=True)  # [B, 1]
        pen = q_logits.argmax(-1)  # [B]
    else:
        pi, q = choice_probs(mixture, q_logits, temperature, style)  # [B, M], [B, 3]
        k = _inverse_cdf(pi, u[:, 0]).unsqueeze(-1)
        pen = _inverse_cdf(q, u[:, 1])

    def pick(v: Tensor) -> Tensor:  # [B, M] -> [B]
        return v.gather(-1, k).squeeze(-1)

    mu_x, mu_y = pick(mixture.mu_x), pick(mixture.mu_y)
    if greedy:
        return mu_x, mu_y, pen
    half_log_t = 0.5 * math.log(temperature_factors(temperature, style)[1])  # sigma * sqrt(T)
    log_sx, log_sy, rho_hat = (pick(v) for v in bounded(mixture))  # the model's bounds, [B]
    sx, sy = torch.exp(log_sx + half_log_t), torch.exp(log_sy + half_log_t)
    rho = torch.tanh(rho_hat)
    dx = mu_x + sx * eps[:, 0]
    dy = mu_y + sy * (rho * eps[:, 0] + torch.sqrt(1 - rho * rho) * eps[:, 1])  # corr(dx, dy) = rho
    return dx, dy, pen


def _inverse_cdf(probs: Tensor, u: Tensor) -> Tensor:
    """Index ``k`` with ``cdf[k-1] <= u < cdf[k]``: ``probs [B, K]``, ``u [B]`` -> ``[B]``."""
    below = (probs.cumsum(-1) <= u.unsqueeze(-1)).sum(-1)
    return below.clamp(max=probs.shape[-1] - 1)  # rounding can leave cdf[-1] slightly below 1


def _draw_noise(n: int, max_len: int, z_dim: int, generator: torch.Generator | None):
    """Per-sketch blocks in a fixed order (see the module docstring): ``z [n, z_dim] | None``,
    ``u [n, max_len, 2]``, ``eps [n, max_len, 2]``; on the generator's device."""
    device = generator.device if generator is not None else torch.device("cpu")
    zs, us, epss = [], [], []
    for _ in range(n):
        if z_dim:
            zs.append(torch.randn(z_dim, generator=generator, device=device))
        us.append(torch.rand(max_len, 2, generator=generator, device=device))
        epss.append(torch.randn(max_len, 2, generator=generator, device=device))
    return (torch.stack(zs) if z_dim else None), torch.stack(us), torch.stack(epss)


def as_batch(sketches: SketchInput, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """``(x [B, T, 5], lengths [B])`` from either that pair or a list of stroke-3 arrays.

    Stroke-3 ``(dx, dy, lifted)`` becomes stroke-5 ``(dx, dy, 1 - lifted, lifted, 0)``, padded with
    end tokens ``(0, 0, 0, 0, 1)`` to ``T = max(lengths) + 1`` (the ``Batch`` layout).
    """
    if isinstance(sketches, tuple) and len(sketches) == 2 and isinstance(sketches[0], Tensor):
        x, lengths = sketches
        if x.dim() != 3 or x.shape[-1] != 5 or lengths.shape != x.shape[:1]:
            raise InputError(f"expected x [B, T, 5] and lengths [B], got {tuple(x.shape)} and "
                             f"{tuple(lengths.shape)}", "pass stroke-5 batches or stroke-3 arrays")
        return x.to(device), lengths.to(device)
    arrays = [np.asarray(s, dtype=np.float32).reshape(-1, 3) for s in sketches]
    if not arrays:
        raise InputError("no sketches given", "pass at least one stroke-3 array")
    lengths = np.array([len(a) for a in arrays])
    offsets = np.concatenate([[0], np.cumsum(lengths)])  # packed, as in data.strokes.SketchSet
    x = stroke3_to_stroke5(np.concatenate(arrays), offsets)  # [B, max(lengths) + 1, 5]
    return torch.from_numpy(x).to(device), torch.from_numpy(lengths).to(device)


def encode(model: nn.Module, sketches: SketchInput, *, sample_z: bool = False,
           generator: torch.Generator | None = None) -> Tensor:
    """Latent codes ``z [B, Nz]`` of sketches: ``mu``, or ``mu + sigma * eps`` (Eq. 2)."""
    if not getattr(model, "conditional", False):
        raise InputError(f"{type(model).__name__} has no encoder",
                         "use a conditional (VAE) model for conditional sampling/interpolation")
    x, lengths = as_batch(sketches, _device_of(model))
    if bool((lengths < 1).any()):
        raise InputError("cannot encode an empty sketch", "give every sketch at least one point")
    with torch.inference_mode(), _eval(model):
        mu, sigma_hat = model.encode(x.to(_dtype_of(model)), lengths)  # [B, Nz] each
        if not sample_z:
            return mu
        return reparameterize(mu, sigma_hat, generator)


def sample(model: nn.Module, n: int, *, max_len: int = 250, temperature: float = DEFAULT_TEMPERATURE,
           greedy: bool = False, seed: int | None = None, generator: torch.Generator | None = None,
           z: Tensor | None = None, prime: SketchInput | None = None,
           device: torch.device | str | None = None, same_noise: bool = False,
           temperature_style: str = DEFAULT_TEMPERATURE_STYLE) -> list[np.ndarray]:
    """Draw ``n`` sketches together; returns stroke-3 arrays ``[len_i, 3]`` in normalised units.

    * unconditional: a decoder-only model, or a VAE with ``z ~ N(0, I)`` drawn per sketch;
    * conditional: ``z [n | 1, Nz]`` (e.g. from ``encode``) for a VAE;
    * completion: ``prime`` (one partial sketch, or ``n``) is fed first and kept as the returned
      sketch's beginning; ``max_len`` counts the new points only.
    ``seed`` or ``generator`` make the result reproducible (see the module docstring);
    ``same_noise`` gives every sketch the first one's random draws (frames of an interpolation).
    ``device`` is where the model lives (default: its parameters' device).
    ``temperature_style``: "paper" or "magenta-js" (see ``temperature_factors``).
    """
    _check_args(n, max_len, temperature, greedy, seed, generator, temperature_style)
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    device = torch.device(device) if device is not None else _device_of(model)
    conditional = bool(getattr(model, "conditional", False))
    if z is not None and not conditional:
        raise InputError(f"{type(model).__name__} is unconditional; it takes no z",
                         "drop z, or use a conditional (VAE) model")
    if z is not None and (z.dim() != 2 or z.shape[0] not in (1, n) or z.shape[1] != model.z_dim):
        raise InputError(f"z has shape {tuple(z.shape)} for n={n} sketches",
                         f"give z as [1, {model.z_dim}] or [{n}, {model.z_dim}]")
    draw_z = model.z_dim if conditional and z is None else 0
    dtype = _dtype_of(model)
    z_noise, u, eps = None, None, None
    if draw_z or not greedy:
        z_noise, u, eps = _draw_noise(1 if same_noise else n, max_len, draw_z, generator)
        u, eps = u.to(device, dtype).expand(n, -1, -1), eps.to(device, dtype).expand(n, -1, -1)
    z = z_noise if z is None else z
    z = z.to(device, dtype).expand(n, -1) if z is not None else None  # [n, Nz]
    with torch.inference_mode(), _eval(model):
        x, lengths = _prime_batch(prime, n, device)
        inputs, state = _primed_state(model, x, lengths, z, n)
        points = _decode(model, inputs, z, state, u, eps, max_len, temperature, greedy,
                         temperature_style)
    return _to_stroke3(x, lengths, points)


def reconstruct(model: nn.Module, sketches: SketchInput, *, sample_z: bool = False,
                seed: int | None = None, generator: torch.Generator | None = None,
                **kwargs) -> list[np.ndarray]:
    """Conditional sampling: encode each sketch, decode from its ``z`` (other kwargs: ``sample``).

    ``sample_z`` draws ``z ~ q(z | S)`` instead of taking the mean; the same seed/generator feeds
    that draw and then the decoding.
    """
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    z = encode(model, sketches, sample_z=sample_z, generator=generator)
    return sample(model, z.shape[0], z=z, generator=generator, **kwargs)


def interpolate_z(z_a: Tensor, z_b: Tensor, steps: int, method: str = "slerp") -> Tensor:
    """``steps`` latents from ``z_a`` to ``z_b`` inclusive, ``[steps, Nz]``.

    slerp follows the great circle (as magenta's notebook does: Gaussian latents concentrate near a
    sphere, so straight lines pass through unlikely, short codes); it falls back to lerp for
    (anti)parallel codes where the arc is undefined.
    """
    if method not in ("slerp", "lerp"):
        raise InputError(f"unknown interpolation method {method!r}", "use 'slerp' or 'lerp'")
    if steps < 2:
        raise InputError(f"interpolation needs steps >= 2, got {steps}", "use e.g. 10 steps")
    t = torch.linspace(0, 1, steps, dtype=z_a.dtype, device=z_a.device).unsqueeze(-1)  # [S, 1]
    if method == "slerp":
        cos = F.cosine_similarity(z_a, z_b, dim=-1).clamp(-1, 1)
        omega = torch.arccos(cos)
        if float(torch.sin(omega)) > 1e-6:
            return (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / torch.sin(omega)
    return (1 - t) * z_a + t * z_b


def interpolate(model: nn.Module, x_a: np.ndarray | tuple[Tensor, Tensor],
                x_b: np.ndarray | tuple[Tensor, Tensor], steps: int = 10, method: str = "slerp",
                **kwargs) -> list[np.ndarray]:
    """Decode ``steps`` sketches along the latent path between two sketches (their means).

    Each sketch is a stroke-3 array or a one-row ``(x [1, T, 5], lengths [1])`` pair. Every
    frame uses the same random draws (``same_noise``), so frames differ only by ``z``;
    ``kwargs`` go to ``sample`` (temperature, greedy, seed, max_len, ...).
    """
    z_a, z_b = (encode(model, x if isinstance(x, tuple) else [x])[0] for x in (x_a, x_b))  # [Nz]
    return sample(model, steps, z=interpolate_z(z_a, z_b, steps, method),
                  **{"same_noise": True, **kwargs})


def _decode(model: nn.Module, inputs: Tensor, z: Tensor | None, state, u: Tensor | None,
            eps: Tensor | None, max_len: int, temperature: float, greedy: bool,
            style: str = DEFAULT_TEMPERATURE_STYLE) -> Tensor:
    """The batched decode loop: returns ``[n, S, 3]`` rows ``(dx, dy, pen)``, ``S <= max_len``.

    Once a sketch draws p3 its pen is pinned at 2 ("finished"); its row keeps being computed (the
    batch never reshapes) but is ignored, and the loop stops when every row is finished.
    """
    n = inputs.shape[0]
    finished = torch.zeros(n, dtype=torch.bool, device=inputs.device)
    steps = []
    for t in range(max_len):
        mixture, q_logits, state = model.decode_step(inputs, z, state)  # [n, M], [n, 3]
        dx, dy, pen = draw_step(mixture, q_logits, None if u is None else u[:, t],
                                None if eps is None else eps[:, t], temperature, greedy, style)  # [n]
        pen = torch.where(finished, 2, pen)
        steps.append(torch.stack([dx, dy, pen.to(dx.dtype)], -1))  # [n, 3]
        finished = finished | (pen == 2)
        if bool(finished.all()):
            break
        inputs = torch.cat([dx[:, None], dy[:, None], F.one_hot(pen, 3).to(dx.dtype)], -1)  # [n, 5]
    return torch.stack(steps, 1)


def _prime_batch(prime: SketchInput | None, n: int, device: torch.device):
    if prime is None:
        return None, None
    x, lengths = as_batch(prime, device)
    if x.shape[0] == 1 and n > 1:  # one partial sketch, n completions
        x, lengths = x.expand(n, -1, -1), lengths.expand(n)
    if x.shape[0] != n:
        raise InputError(f"prime has {x.shape[0]} sketches for n={n}", "give 1 or n partial sketches")
    if bool((lengths < 0).any()) or int(lengths.max()) > x.shape[1]:
        raise InputError(f"prime lengths must lie in [0, {x.shape[1]}]", "fix the lengths tensor")
    return x, lengths


def _primed_state(model: nn.Module, x: Tensor | None, lengths: Tensor | None, z: Tensor | None,
                  n: int):
    """First loop input ``[n, 5]`` and the decoder state that precedes it.

    Without a prime: S0 and the initial state. With one of length L: the inputs S0, p_0 .. p_{L-2}
    are fed (teacher forcing) and p_{L-1} becomes the first loop input, so the first sampled point
    is p_L. Equal lengths take one ``decode_sequence`` call; mixed lengths step through the longest
    with a mask, so each row keeps the state reached at its own length.
    """
    start = model.start_token(n)  # [n, 5]
    state = model.initial_state(z, n)
    if x is None:
        return start, state
    x = x.to(start.dtype)
    seq = torch.cat([start[:, None], x[:, :-1]], 1)  # [n, T, 5]: S0, p_0, ...
    if bool((lengths == lengths[0]).all()):
        if int(lengths[0]) > 0:
            _, _, state = model.decode_sequence(seq[:, : int(lengths[0])], z, state)
    else:
        for t in range(int(lengths.max())):
            _, _, new = model.decode_step(seq[:, t], z, state)
            state = _where(t < lengths, new, state)
    last = x[torch.arange(n, device=x.device), (lengths - 1).clamp(min=0)]  # [n, 5]: p_{L-1}
    return torch.where((lengths > 0)[:, None], last, start), state


def _where(mask: Tensor, new, old):
    """``torch.where`` over a (nested tuple of) state tensors, batch first."""
    if isinstance(new, Tensor):
        return torch.where(mask.view(-1, *[1] * (new.dim() - 1)), new, old)
    return type(new)(_where(mask, a, b) for a, b in zip(new, old))


def _to_stroke3(x: Tensor | None, lengths: Tensor | None, points: Tensor) -> list[np.ndarray]:
    """Prefix (if primed) + new points up to each sketch's end, with the last pen lifted."""
    points = points.float().cpu().numpy()  # [n, S, 3]
    n_new = (points[:, :, 2] != 2).sum(1)  # after its first p3 a row's pen stays at 2
    if x is not None:
        x, lengths = x.float().cpu().numpy(), lengths.cpu().numpy()
    out = []
    for i in range(points.shape[0]):
        new = points[i, : n_new[i]].copy()
        new[:, 2] = new[:, 2] == 1  # pen index 1 = p2: lifted after this point
        parts = [x[i, : lengths[i]][:, [0, 1, 3]], new] if x is not None else [new]
        sketch = np.concatenate(parts).astype(np.float32)
        if len(sketch):
            sketch[-1, 2] = 1.0  # a sketch ends with the pen up, whether it drew p3 or hit max_len
        out.append(sketch)
    return out


def _check_args(n: int, max_len: int, temperature: float, greedy: bool, seed, generator,
                style: str = DEFAULT_TEMPERATURE_STYLE) -> None:
    problems = []
    if style not in TEMPERATURE_STYLES:
        problems.append(f"temperature_style={style!r} (need one of {', '.join(TEMPERATURE_STYLES)})")
    if n < 1:
        problems.append(f"n={n} (need >= 1)")
    if max_len < 1:
        problems.append(f"max_len={max_len} (need >= 1)")
    if not greedy and not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        problems.append(f"temperature={temperature} (need {MIN_TEMPERATURE:g} to "
                        f"{MAX_TEMPERATURE:g}; or use greedy)")
    if seed is not None and generator is not None:
        problems.append("both seed and generator given")
    if problems:
        raise InputError(f"invalid sampling arguments: {'; '.join(problems)}",
                         f"e.g. n=16, max_len=250, temperature={DEFAULT_TEMPERATURE}, and seed or generator")


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _dtype_of(model: nn.Module) -> torch.dtype:
    return next(model.parameters()).dtype


@contextmanager
def _eval(model: nn.Module):
    """Eval mode (no recurrent dropout) while sampling, then the caller's mode again."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
