"""Time to quality: run one `sketchrnn fit` command in a fresh runs folder, time it, then measure
what it trained the way docs/predict.md does.

* wall time of the fit (and the machine's load average before and after: on a shared machine
  the same command takes longer, and the record says so);
* the predict model under the reference protocol (10 runs x 10,000 test sketches, tails cut
  0-50%, seed 0; `eval predict`);
* each draw model: 500 unconditional samples at T = 0.25, seed 0 (the default temperature rule),
  recognised by the predict model, and their sketch FID / precision / recall against the real
  test sketches with the real valid sketches' figures as the floor (`eval draw`), plus a grid of
  the first 25 samples.

Writes ``<out>/time_to_quality.json`` and ``<out>/time_to_quality.md`` (a markdown table).

    python benchmarks/time_to_quality.py --out ttq                 # the README's main command
    python benchmarks/time_to_quality.py --out ttq -- sketchrnn fit pig face --steps 500 ...
    python benchmarks/time_to_quality.py --out ttq --quick -- sketchrnn fit ... --preset tiny

``--deadline-min M`` stops the fit (Ctrl-C, as a user would) after M minutes and measures the
checkpoints it has (taken every `checkpoint_every` steps): the record gives the steps reached.
``--quick`` shrinks the evaluation (16 samples, 2 x 200 protocol sketches) for smoke tests.
Each Ray worker gets OMP_NUM_THREADS=1 unless the environment sets it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# The README's main command (without --runs, which the benchmark adds).
README_COMMAND = ("sketchrnn fit --recipe quickdraw-cpu --categories 'alarm clock,face,pig,radio' "
                  "--workers 2 --data-dir ../shared/data/quickdraw")
TEMPERATURE, SEED, SAMPLES = 0.25, 0, 500
TARGETS = {"recognised": 0.92, "predict_accuracy": 0.930}


def run_fit(command: list[str], runs: Path, log: Path, deadline_s: float | None) -> dict[str, Any]:
    """Run the fit command with ``--runs runs``; stop it with SIGINT at the deadline."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "PYTHONUNBUFFERED": "1"}
    load_before = os.getloadavg()
    start = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen([*command, "--runs", str(runs)], stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
        stopped = False
        try:
            proc.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            stopped = True
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: Ray shut down, checkpoints kept
            try:
                proc.wait(timeout=300)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return {"command": shlex.join(command), "exit_code": proc.returncode,
            "wall_s": round(time.perf_counter() - start, 1), "stopped_at_deadline": stopped,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()], "log": str(log)}


def measure_predict(runs: Path, data_dir: Path | None, quick: bool) -> dict[str, Any]:
    from sketchrnn.evaluation.protocol import Protocol
    from sketchrnn.evaluation.report import evaluate_predict

    protocol = Protocol(runs=2, n=200) if quick else Protocol()
    result = evaluate_predict(runs, None, protocol, data_dir=data_dir)
    acc = result["summary"]["accuracy"]
    return {"step": result["step"], "accuracy": acc["mean"], "accuracy_std": acc["std"],
            "protocol": f"{protocol.runs} x {protocol.n:,}, cut {protocol.cut_min:.0%}-"
                        f"{protocol.cut_max:.0%}, seed {protocol.seed}",
            "per_category": result["per_category_accuracy"]}


def measure_draw(category: str, runs: Path, data_dir: Path | None, n: int,
                 grid: Path) -> dict[str, Any]:
    import shutil

    from sketchrnn.evaluation.report import evaluate_draw
    from sketchrnn.render import grid_png

    result = evaluate_draw(category, runs, None, n=n, temperature=TEMPERATURE, seed=SEED,
                           data_dir=data_dir)
    recog, quality = result["recognisability"] or {}, result["sample_quality"] or {}
    row = {"category": category, "step": result["step"], "test_recon": result["test"]["recon"],
           "recognised": recog.get("recognised"),
           "recognised_in_distribution": recog.get("recognised_in_distribution"),
           "temperature_style": recog.get("temperature_style"), "n": n}
    for side in ("generated", "floor"):
        for key in ("fid", "precision", "recall"):
            row[f"{key}{'' if side == 'generated' else '_floor'}"] = quality.get(side, {}).get(key)
    for split in ("valid", "test"):  # the judge's ceiling: its share on real drawings
        row[f"real_recognised_{split}"] = quality.get("real_recognised", {}).get(split)
    samples = Path(result["paths"].get("samples", ""))
    if samples.is_file():  # the first 64 samples; keep a copy beside the record
        shutil.copyfile(samples, grid)
        row["grid"] = str(grid)
    return row


def draw_categories(runs: Path) -> list[str]:
    from sketchrnn.checkpoint_meta import read_meta_if_present
    from sketchrnn.runs import JobDir

    found = []
    for job in sorted(runs.glob("draw-*")):
        meta = read_meta_if_present(JobDir(job).latest)
        if meta is not None:
            found.append(meta.categories[0])
    return found


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(record: dict[str, Any]) -> str:
    fit, pred = record["fit"], record.get("predict") or {}
    lines = [f"Command: `{fit['command']}`", "",
             f"Wall time: {fit['wall_s'] / 60:.1f} min ({fit['wall_s']:.0f} s)"
             + (" - stopped at the deadline" if fit["stopped_at_deadline"] else "")
             + f"; {record['machine']['cpus']} CPUs, load average {fit['load_average_before'][0]:.1f}"
             f" before, {fit['load_average_after'][0]:.1f} after (1 min).", "",
             "| model | steps | recognised (T=0.25, n, seed 0) | also in-dist. | real valid / test "
             "recognised | FID (floor) | precision (floor) | recall (floor) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in record["draw"]:
        lines.append(f"| draw {row['category']} | {row['step']:,} | {_pct(row['recognised'])} "
                     f"(n={row['n']}) | {_pct(row['recognised_in_distribution'])} | "
                     f"{_pct(row.get('real_recognised_valid'))} / {_pct(row.get('real_recognised_test'))} | "
                     f"{_num(row['fid'])} ({_num(row['fid_floor'])}) | {_num(row['precision'])} "
                     f"({_num(row['precision_floor'])}) | {_num(row['recall'])} ({_num(row['recall_floor'])}) |")
    if pred:
        lines += ["", f"Predict model (step {pred['step']:,}): {100 * pred['accuracy']:.2f}% +- "
                      f"{100 * pred['accuracy_std']:.2f}% ({pred['protocol']})."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="A new folder for runs/ and the record.")
    parser.add_argument("--data-dir", type=Path, help="For evaluation, if not the training data dir.")
    parser.add_argument("--deadline-min", type=float, help="Stop the fit after this many minutes.")
    parser.add_argument("-n", type=int, default=SAMPLES, help="Samples per draw model.")
    parser.add_argument("--quick", action="store_true", help="A small evaluation (smoke tests).")
    parser.add_argument("command", nargs="*", help="The fit command (after --); default: README's.")
    args = parser.parse_args(argv)
    if args.out.exists():
        parser.error(f"{args.out} exists; give a new folder (nothing is overwritten)")
    command = args.command or shlex.split(README_COMMAND)
    args.out.mkdir(parents=True)
    runs = args.out / "runs"
    deadline = None if args.deadline_min is None else 60 * args.deadline_min
    record: dict[str, Any] = {"fit": run_fit(command, runs, args.out / "fit.log", deadline),
                              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                          "python": sys.version.split()[0]}, "targets": TARGETS}
    print(f"fit: {record['fit']['wall_s']:.0f} s, exit {record['fit']['exit_code']}", flush=True)
    record["predict"] = measure_predict(runs, args.data_dir, args.quick) if (runs / "predict").is_dir() else None
    n = min(args.n, 16) if args.quick else args.n
    record["draw"] = [measure_draw(c, runs, args.data_dir, n, args.out / f"samples-{c.replace(' ', '_')}.png")
                      for c in draw_categories(runs)]
    (args.out / "time_to_quality.json").write_text(json.dumps(record, indent=2))
    table = markdown(record)
    (args.out / "time_to_quality.md").write_text(table)
    print(table)
    return 0 if record["fit"]["exit_code"] == 0 or record["fit"]["stopped_at_deadline"] else 1


if __name__ == "__main__":
    sys.exit(main())
