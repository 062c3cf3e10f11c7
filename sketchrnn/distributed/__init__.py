"""The Ray glue: how `sketchrnn fit --workers N` trains every job at once with Ray Train DDP.

    planner.py   split N workers across jobs (pure function; no Ray)
    worker.py    the per-worker train function: rank/world from Ray Train, DDP, shards, reports
    hub.py       a tiny Ray actor that carries progress rows from rank 0 to the driver
    trainer.py   one TorchTrainer per job, run in a driver thread; its outcome as a plain dict
    storage.py   the runs dir as Ray storage: absolute paths, URIs, finished jobs, --fresh
    launch.py    `run_with_ray`: start/join Ray, print the plan, live table, Ctrl-C

Nothing here is imported by `sketchrnn --help`; Ray and torch are imported inside functions.
"""
