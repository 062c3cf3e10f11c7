"""Hyperparameter sweeps (`sketchrnn tune`): Ray Tune over trials that are Ray Train jobs.

    space.py    search-space files: parse, check against the Config, Ray domains; the defaults
                are package data (spaces/draw.yaml, spaces/predict.yaml, spaces/README.md)
    trial.py    one trial: a Tune function trainable that builds a TorchTrainer around the same
                per-worker function as `fit`, and the Train callback that reports to Tune
    events.py   the driver's Tune callback: live progress rows, statuses, releasing stopped trials
    sweep.py    the driver: sweep folder, resume (Tuner.restore), search algorithm, ASHA, resources
    report.py   per-trial results, the best config (for `fit --config`), best.json, the plot

Nothing here is imported by `sketchrnn --help`; Ray is imported inside functions (events.py
imports it at the top and is itself imported lazily).
"""
