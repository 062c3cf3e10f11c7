"""`sketchrnn eval predict` and `sketchrnn eval draw CATEGORY`: measured numbers, as JSON beside
the model and as tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sketchrnn.cli.options import (
    draw_checkpoint_option,
    reading_runs,
    runs_option,
    temperature_style_option,
)
from sketchrnn.config import DEFAULT_TEMPERATURE, MAX_TEMPERATURE, MIN_TEMPERATURE
from sketchrnn.evaluation.fid import DEFAULT_K

data_option = click.option("--data-dir", type=click.Path(path_type=Path),
                           help="Data folder, if not the one the model was trained from.")
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the results JSON instead of tables.")


def _name_paths(result: dict[str, Any], local: Path, runs_dir: str) -> None:
    """Written files named under --runs as given (a URI's files were staged in a temp folder)."""
    result["paths"] = {k: v.replace(str(local), runs_dir.rstrip("/")) if isinstance(v, str) else v
                       for k, v in result["paths"].items()}


@click.group(name="eval")
def eval_group() -> None:
    """Evaluate trained models with fixed, seeded protocols."""


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from rich.table import Table

    from sketchrnn.cli.console import console

    table = Table(title=title)
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    console().print(table)


def _show_predict(result: dict[str, Any]) -> None:
    from sketchrnn.cli.console import console

    p = result["protocol"]
    s = result["summary"]
    _table(f"predict: {p['runs']} runs x {p['n']:,} test sketches, cut {p['cut_min']:.0%}-"
           f"{p['cut_max']:.0%} (class-balanced, with replacement)", ["metric", "mean", "std"],
           [["accuracy", f"{s['accuracy']['mean']:.2%}", f"{s['accuracy']['std']:.2%}"],
            ["loss (cross-entropy)", f"{s['loss']['mean']:.4f}", f"{s['loss']['std']:.4f}"],
            ["calibrated NLL", f"{s['nll_calibrated']['mean']:.4f}",
             f"{s['nll_calibrated']['std']:.4f}"]])
    _table("accuracy by cut fraction (whole test split)", ["cut", "accuracy", "loss", "points"],
           [[f"{r['cut']:.0%}", f"{r['accuracy']:.2%}", f"{r['loss']:.3f}",
             f"{r['mean_points']:.1f}"] for r in result["accuracy_by_cut"]])
    _table("per-category accuracy (all runs)", ["category", "accuracy"],
           [[c, f"{a:.2%}"] for c, a in result["per_category_accuracy"].items()])
    _show_heldout(result.get("ood_heldout"), p)
    ood = result.get("ood")
    if ood:
        _table(f"OOD detection: {ood['category']!r} vs test sketches (cut {p['cut_min']:.0%}-"
               f"{p['cut_max']:.0%})", ["score", "AUROC"],
               [[name + (" (chosen)" if name == ood["chosen_score"] else ""), f"{v:.4f}"]
                for name, v in ood["auroc"].items()])
        console().print(f"at the stored threshold: {ood['flagged_ood']:.1%} of {ood['category']} "
                        f"flagged out-of-distribution, {ood['flagged_in_distribution']:.1%} of "
                        f"test sketches. {ood['note']}")
    console().print(f"wrote {result['paths']['json']}, {result['paths']['confusion']}, "
                    f"{result['paths']['accuracy_by_cut']}")


def _show_heldout(section: dict[str, Any] | None, p: dict[str, Any]) -> None:
    """The held-out evaluation categories' OOD figures, the flagged share, the outliers used."""
    from sketchrnn.cli.console import console

    if not section:
        return
    chosen, cuts = section["chosen_score"], None
    rows = []
    for name, c in section["categories"].items():
        cuts = list(c["auroc_by_cut"])
        rows.append([name, f"{c['n']:,}"] + [f"{c['auroc'][k]:.3f}" for k in c["auroc"]]
                    + [f"{v:.3f}" for v in c["auroc_by_cut"].values()]
                    + ["-" if c["flagged"] is None else f"{c['flagged']:.1%}"])
    if rows:
        scores = list(next(iter(section["categories"].values()))["auroc"])
        _table(f"OOD AUROC on held-out categories vs test sketches, cut {p['cut_min']:.0%}-"
               f"{p['cut_max']:.0%} (by cut: both sides cut exactly c; {chosen})",
               ["category", "n"] + [k + ("*" if k == chosen else "") for k in scores]
               + [f"cut {float(c):.0%}" for c in cuts] + ["flagged"], rows)
    flagged = section["flagged_in_distribution"]
    synthetic = ", ".join(f"{k} {v:.3f}" for k, v in section["synthetic_auroc"].items())
    console().print(
        f"score {chosen!r} chosen on {section['chosen_on']}"
        + (f" ({', '.join(section['selection_categories'])})" if section["selection_categories"]
           else "") + (f"; real test sketches flagged 'none of these': {flagged:.1%}"
                       if flagged is not None else "; uncalibrated: no threshold")
        + f"; synthetic outliers AUROC: {synthetic}"
        + (f"; not found: {', '.join(section['missing'])}" if section["missing"] else ""))
    _show_other_categories(section)


def _show_other_categories(section: dict[str, Any]) -> None:
    """Which other categories' drawings the model learnt from: outliers, pretraining."""
    from sketchrnn.cli.console import console

    exposure = section["outlier_exposure"]
    if exposure is None:
        console().print("outlier exposure: none (the model was trained without outliers)")
    else:
        console().print(f"outlier exposure: weight {exposure['weight']:g}, "
                        f"{exposure['n_sketches']:,} drawings of {len(exposure['categories'])} "
                        f"categories from {exposure['source']}: {', '.join(exposure['categories'])}")
    pretrained = section.get("pretrained")  # absent in eval.json files written before it
    if pretrained is None:
        console().print("pretraining: none (the encoder was trained from scratch)")
    else:
        sources = ", ".join(f"{k} ({v:,})" for k, v in pretrained["sources"].items())
        console().print(f"pretraining: {pretrained['steps']:,} steps on "
                        f"{pretrained['n_sketches']:,} drawings of "
                        f"{len(pretrained['categories'])} categories (train accuracy "
                        f"{pretrained['train_accuracy']:.1%}) from {sources}: "
                        f"{', '.join(pretrained['categories'])}", markup=False)


@eval_group.command(name="predict")
@click.option("--n-runs", "n_runs", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("-n", "n", type=click.IntRange(1, 10_000_000), default=10_000, show_default=True,
              help="Test sketches per run.")
@click.option("--cut-min", type=click.FloatRange(0.0, 0.95), default=0.0, show_default=True)
@click.option("--cut-max", type=click.FloatRange(0.0, 0.95), default=0.5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--ood-category", metavar="NAME",
              help="Held-out QuickDraw category for OOD AUROC (npz, ndjson or json in --data-dir).")
@click.option("--ood-file", type=click.Path(path_type=Path),
              help="Explicit .ndjson/.json file of the OOD category's drawings.")
@click.option("--ood-limit", type=click.IntRange(1, 10_000_000), metavar="N",
              help="The first N drawings of each held-out evaluation category (default: all).")
@click.option("--checkpoint", type=click.Path(path_type=Path), help="The predict checkpoint.")
@runs_option
@data_option
@json_option
def eval_predict(n_runs: int, n: int, cut_min: float, cut_max: float, seed: int,
                 ood_category: str | None, ood_file: Path | None, ood_limit: int | None,
                 checkpoint: Path | None, runs_dir: str, data_dir: Path | None,
                 as_json: bool) -> None:
    """The reference protocol: R runs x N test sketches cut by a random 0-50%.

    Writes eval.json, eval_confusion.png and eval_accuracy_by_cut.png beside the model
    (runs/predict/).

    \b
    Examples:
      sketchrnn eval predict
      sketchrnn eval predict --ood-category monkey --data-dir data/
    """
    import json

    from sketchrnn.evaluation.protocol import Protocol
    from sketchrnn.evaluation.report import evaluate_predict

    if cut_min > cut_max:
        raise click.BadParameter(f"{cut_min} > --cut-max {cut_max}", param_hint="--cut-min")
    if ood_file is not None and ood_category is None:
        ood_category = ood_file.stem
    protocol = Protocol(runs=n_runs, n=n, cut_min=cut_min, cut_max=cut_max, seed=seed)
    from sketchrnn.runs import PREDICT_JOB

    with reading_runs(runs_dir, writes=[PREDICT_JOB]) as local:  # eval.json beside the model
        result = evaluate_predict(local, checkpoint, protocol, data_dir=data_dir,
                                  ood_category=ood_category, ood_file=ood_file, ood_limit=ood_limit)
    _name_paths(result, local, runs_dir)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        _show_predict(result)


@eval_group.command(name="draw")
@click.argument("category")
@click.option("-n", "n", type=click.IntRange(1, 100_000), default=500, show_default=True,
              help="Unconditional samples, for recognisability and FID / precision / recall.")
@click.option("--temperature", type=click.FloatRange(MIN_TEMPERATURE, MAX_TEMPERATURE),
              default=DEFAULT_TEMPERATURE,
              show_default=True)
@temperature_style_option
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--k", "k", type=click.IntRange(1, 100), default=DEFAULT_K, show_default=True,
              help="Neighbours for precision/recall's k-NN radii (Kynkaanniemi et al. 2019).")
@draw_checkpoint_option
@runs_option
@data_option
@json_option
def eval_draw(category: str, n: int, temperature: float, temperature_style: str, seed: int,
              k: int, checkpoint: Path | None, runs_dir: str, data_dir: Path | None,
              as_json: bool) -> None:
    """Test-split losses of CATEGORY's draw model, how recognisable its samples are, and how
    close they come to the real test sketches as a set (FID, precision, recall).

    FID and precision/recall are computed on the predict model's pooled features; the real
    valid sketches against the same test sketches are shown beside them as the floor. Writes
    eval.json and eval_samples.png beside the model (runs/draw-<category>/).

    \b
    Examples:
      sketchrnn eval draw pig
      sketchrnn eval draw "alarm clock" -n 200 --temperature 0.25
    """
    import json

    from sketchrnn.cli.fit_cmd import check_trained_category
    from sketchrnn.evaluation.report import evaluate_draw

    category = check_trained_category(category, runs_dir, checkpoint)
    if n <= k:
        raise click.BadParameter(f"{n} samples leave no k-th neighbour for --k {k}",
                                 param_hint="-n")
    from sketchrnn.runs import draw_job_name

    job = draw_job_name(category)
    # eval.json beside the model; the sample figures in its checkpoint's meta
    with reading_runs(runs_dir, writes=[job], new_checkpoints=True) as local:
        result = evaluate_draw(category, local, checkpoint, n=n, temperature=temperature,
                               temperature_style=temperature_style, seed=seed, k=k,
                               data_dir=data_dir)
    _name_paths(result, local, runs_dir)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    from sketchrnn.cli.console import console

    t, r = result["test"], result["recognisability"]
    _table(f"draw {category!r}: test split ({t['n_sketches']} sketches)", ["term", "value"],
           [["reconstruction L_R", f"{t['recon']:.4f}"], ["  offsets", f"{t['offsets']:.4f}"],
            ["  pen", f"{t['pen']:.4f}"], ["KL L_KL", f"{t['kl']:.4f}"],
            [f"total (w_KL={t['kl_weight']:g}, KL_min={t['kl_min']:g})" if t["conditional"]
             else "total (decoder-only: no KL term)", f"{t['total']:.4f}"]])
    if r is None:
        console().print(f"recognisability: skipped ({result['recognisability_note']})", markup=False)
    else:
        console().print(f"recognisability at T={r['temperature']:g} ({r['temperature_style']}): "
                        f"{r['recognised']:.1%} of "
                        f"{r['n']} samples labelled {category!r} "
                        f"({r['recognised_in_distribution']:.1%} also in-distribution); "
                        f"assigned: {r['assigned']}")
    _show_sample_quality(result)
    console().print(f"wrote {result['paths']['json']}")


def _show_sample_quality(result: dict[str, Any]) -> None:
    from sketchrnn.cli.console import console

    q = result["sample_quality"]
    if q is None:
        if result["recognisability"] is not None:
            console().print(f"sample quality: skipped ({result['sample_quality_note']})", markup=False)
        return
    g, f = q["generated"], q["floor"]
    _table(f"samples vs the {g['n_real']} real test sketches ({q['features']}, k={q['k']})",
           ["set", "n", "FID (lower is better)", "precision", "recall"],
           [["samples", str(g["n_generated"]), f"{g['fid']:.3f}", f"{g['precision']:.1%}",
             f"{g['recall']:.1%}"],
            ["real valid (floor)", str(f["n_generated"]), f"{f['fid']:.3f}",
             f"{f['precision']:.1%}", f"{f['recall']:.1%}"]])
    real = q.get("real_recognised")
    if real:  # what samples as good as the real drawings would reach with this judge
        console().print(f"real sketches the predict model names {result['category']!r}: "
                        f"valid {real['valid']:.1%}, test {real['test']:.1%}", markup=False)
