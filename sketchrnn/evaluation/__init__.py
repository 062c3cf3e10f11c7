"""Evaluating trained models with fixed, seeded protocols (`sketchrnn eval`).

``metrics`` (AUROC, confusion, ECE), ``protocol`` (the reference R x N cut-sketch protocol),
``ood`` (a held-out category as out-of-distribution data), ``draw_eval`` (test losses,
recognisability), ``plots`` and ``report`` (run everything, write eval.json beside the model).
"""
