"""The Ray glue: how `sketchrnn fit --workers N` trains every job at once with Ray Train DDP.

    planner.py   split N workers across jobs (pure function; no Ray)
    worker.py    the per-worker train function: rank/world from Ray Train, DDP, shards, reports
    hub.py       a tiny Ray actor that carries progress rows from rank 0 to the driver
    cluster.py   start or join Ray (`ray.init`) for `fit` and `tune`; a bad --address is one line
    trainer.py   one TorchTrainer per job (fit job or tune trial); a driver thread per fit job
    storage.py   the runs dir as Ray storage: absolute paths, URIs, finished jobs, --fresh
    launch.py    `run_with_ray`: plan, start and watch every job; rows and results to the caller

Nothing here is imported by `sketchrnn --help`; Ray and torch are imported inside functions.
"""
