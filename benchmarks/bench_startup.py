"""CLI start-up: wall time of ``sketchrnn --help`` (target < 0.5 s), of a subcommand's ``--help``,
and the import time of ``sketchrnn.cli.main``, each the median of several fresh processes.

    python benchmarks/bench_startup.py            # 9 runs each (~15 s)
    python benchmarks/bench_startup.py --quick    # 3 runs each

Also checks that ``--help`` imports neither torch nor ray, and lists the slowest imports
(``python -X importtime``) so a regression names its culprit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402


def wall(cmd: list[str], runs: int, env: dict[str, str]) -> dict[str, Any]:
    subprocess.run(cmd, capture_output=True, env=env, cwd=C.ROOT)  # warm the page cache
    times, rc = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, env=env, cwd=C.ROOT)
        times.append(time.perf_counter() - t0)
        rc = rc or proc.returncode
    return {"median_s": C.median(times), "min_s": min(times), "max_s": max(times), "runs": runs, "rc": rc}


def import_profile(python: str, module: str, env: dict[str, str], top: int = 12) -> dict[str, Any]:
    """``-X importtime``: the module's cumulative import time and the slowest imports under it."""
    proc = subprocess.run([python, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                          text=True, env=env, cwd=C.ROOT)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        try:
            _, self_us, cum_us, name = line.split("|", 3)[0].split(":")[0], *line.split(":", 1)[1].split("|")
            rows.append({"module": name.rstrip(), "self_ms": int(self_us) / 1e3, "cumulative_ms": int(cum_us) / 1e3})
        except ValueError:
            continue
    total = next((r["cumulative_ms"] for r in rows if r["module"].strip() == module), None)
    top_rows = sorted(rows, key=lambda r: r["cumulative_ms"], reverse=True)[:top]
    return {"module": module, "cumulative_ms": total, "slowest": top_rows, "modules": len(rows)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--runs", type=int, default=None)
    p.add_argument("--out", type=Path, default=C.RESULTS / "startup_cpu.json")
    args = p.parse_args(argv)
    runs = args.runs or (3 if args.quick else 9)
    python = sys.executable
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    script = Path(python).parent / "sketchrnn"
    cli = [str(script)] if script.exists() else ([shutil.which("sketchrnn")] if shutil.which("sketchrnn")
                                                  else [python, "-m", "sketchrnn"])
    info = C.machine_info()
    C.log(f"bench_startup: {' '.join(cli)}; {runs} runs each; load {info['loadavg_1_5_15']}")
    cases = {
        "python -c pass (interpreter floor)": [python, "-c", "pass"],
        "import sketchrnn.cli.main": [python, "-c", "import sketchrnn.cli.main"],
        "sketchrnn --help": cli + ["--help"],
        "sketchrnn --version": cli + ["--version"],
        "sketchrnn fit --help": cli + ["fit", "--help"],
        "sketchrnn sample --help": cli + ["sample", "--help"],
    }
    rows = []
    for name, cmd in cases.items():
        r = wall(cmd, runs, env)
        rows.append({"case": name, **r})
        C.log(f"  {name}: {r['median_s'] * 1e3:.0f} ms")
    floor = rows[0]["median_s"]
    for r in rows:
        r["over_floor_ms"] = 1e3 * (r["median_s"] - floor)
    C.log(C.table(rows, ["case", "median_s", "min_s", "max_s", "over_floor_ms", "rc"],
                  title="start-up wall time (median of fresh processes; target: --help < 0.5 s)"))
    loaded = {}
    for argv_ in (["--help"], ["fit", "--help"], ["sample", "--help"]):
        heavy = subprocess.run(
            [python, "-c", f"import sys; sys.argv=['sketchrnn', *{argv_!r}]\n"
                           "from sketchrnn.cli.main import main\n"
                           "try:\n main()\nexcept SystemExit: pass\n"
                           "print('HEAVY', sorted(m for m in ('torch','ray','numpy','pydantic','matplotlib',"
                           "'rich','PIL','yaml') if m in sys.modules))"],
            capture_output=True, text=True, env=env, cwd=C.ROOT)
        key = "sketchrnn " + " ".join(argv_)
        loaded[key] = next((line.split(" ", 1)[1] for line in heavy.stdout.splitlines()
                            if line.startswith("HEAVY")), "?")
        C.log(f"heavy modules imported by `{key}`: {loaded[key]}")
    profs = [import_profile(python, "sketchrnn.cli.main", env) for _ in range(3)]
    prof = min(profs, key=lambda r: r["cumulative_ms"] or float("inf"))  # least disturbed run
    C.log(C.table(prof["slowest"], title=f"slowest imports under sketchrnn.cli.main "
                                          f"(-X importtime, cumulative {prof['cumulative_ms']} ms)"))
    C.write_json(args.out, {"machine": info, "loadavg_end": C.loadavg(), "cli": cli, "rows": rows,
                            "heavy_modules_on_help": loaded, "import_profile": prof})
    C.log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
