"""bench_train's experiments (patches applied in the worker only) and its torch.profiler breakdown."""

from __future__ import annotations

from typing import Any

import _common as C

# --------------------------------------------------------------------------------------------
# Experiments: patches applied in the worker process only
# --------------------------------------------------------------------------------------------

def apply_experiment(name: str, model) -> None:
    if name in ("enc_onednn", "enc_onednn_noflush"):
        C.patch_encoder_unpacked(model)


def compiled_loss(n_max: int):
    import torch

    from sketchrnn.losses import reconstruction
    from sketchrnn.losses.sketch_rnn import SketchRNNLoss

    reconstruction_compiled = torch.compile(reconstruction.reconstruction_loss, dynamic=True)
    import sketchrnn.losses.sketch_rnn as mod

    mod.reconstruction_loss = reconstruction_compiled
    return SketchRNNLoss(n_max=n_max)


# --------------------------------------------------------------------------------------------
# Profile: where does the time go?
# --------------------------------------------------------------------------------------------

def profile_steps(model, step_fn, stream, n_steps: int, step0: int) -> dict[str, Any]:
    from torch.autograd.profiler import record_function
    from torch.profiler import ProfilerActivity, profile

    handles = []

    def label(module, name):
        ctx: list[Any] = []

        def pre(mod, inp):
            rf = record_function(name)
            rf.__enter__()
            ctx.append(rf)

        def post(mod, inp, out):
            ctx.pop().__exit__(None, None, None)

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))

    label(model.encoder, "fwd:encoder")
    label(model.decoder.rnn, "fwd:decoder_lstm")
    label(model.decoder.output, "fwd:output_layer")
    rows = []
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(n_steps):
            with record_function("step"):
                rows.append(step_fn(stream, step0 + i))
    for h in handles:
        h.remove()
    events = prof.key_averages()
    total_us = sum(e.self_cpu_time_total for e in events)
    by_name = {e.key: e for e in events}
    top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:25]
    labelled = {k: by_name[k].cpu_time_total / n_steps / 1e6 for k in
                ("step", "fwd:encoder", "fwd:decoder_lstm", "fwd:output_layer") if k in by_name}
    # autograd nodes: which backward functions dominate
    bwd = sorted((e for e in events if e.key.startswith("autograd::engine::evaluate_function:")),
                 key=lambda e: e.cpu_time_total, reverse=True)[:12]
    optim = [e for e in events if e.key.startswith("Optimizer.step")]
    return {
        "steps": n_steps,
        "step_s_unprofiled": C.median([r["total"] for r in rows]),
        "phases_s_per_step": {k: C.median([r[k] for r in rows]) for k in
                              ("data", "forward", "loss", "backward", "optimizer", "metrics", "total")},
        "labelled_s_per_step": labelled,
        "optimizer_step_s": (optim[0].cpu_time_total / n_steps / 1e6) if optim else None,
        "top_self_ops": [{"op": e.key, "self_s_per_step": e.self_cpu_time_total / n_steps / 1e6,
                          "share": e.self_cpu_time_total / max(total_us, 1), "calls_per_step": e.count / n_steps}
                         for e in top],
        "top_backward_nodes": [{"node": e.key.split(":", 2)[-1].strip(),
                                "s_per_step": e.cpu_time_total / n_steps / 1e6,
                                "calls_per_step": e.count / n_steps} for e in bwd],
    }
