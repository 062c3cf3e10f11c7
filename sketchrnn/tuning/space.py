"""Search-space files: config paths mapped to distributions, checked against the Config schema.

A space file is small YAML that a person reads and edits (schema: spaces/README.md; the
defaults `tune` uses without --space are spaces/draw.yaml and spaces/predict.yaml)::

    predict.train.lr: {loguniform: [1.0e-4, 3.0e-3]}
    predict.model.head_hidden: {choice: [128, 256, 512]}
    data.truncate_max: {uniform: [0.3, 0.6]}

Keys are the same dotted paths `--set` takes (nested sections are flattened, so `predict: {train:
{lr: ...}}` means the same). Everything is checked on the driver before Ray starts, and every
problem is reported in one message: unknown keys (with a did-you-mean), keys of the other task,
unknown distribution kinds, malformed or empty ranges, values the field would reject (each end of
a range and each choice goes through the field's own pydantic constraints), kinds that cannot
produce the field's type (an integer field needs randint/lograndint/choice), and ranges that can
put data.min_seq_len above data.max_seq_len (or truncate_min above truncate_max) for some sample.

Integer ranges are inclusive at both ends here (`randint: [1, 4]` can give 4); Ray's randint
excludes the upper end, so `to_tune` adds one.
"""

from __future__ import annotations

import copy
import difflib
import importlib.resources
import itertools
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from sketchrnn.config import Config, ordering_problems, section_fields
from sketchrnn.config_sources import read_config_file, set_path
from sketchrnn.errors import ConfigError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

# kind -> (argument names, what it produces). Ordered as the README lists them.
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "uniform": (("low", "high"), "float"),
    "quniform": (("low", "high", "q"), "float"),
    "loguniform": (("low", "high"), "float"),
    "randint": (("low", "high"), "int"),
    "lograndint": (("low", "high"), "int"),
    "choice": ((), "any"),
}
# Paths a sweep must not vary, and why ({task} is draw or predict).
FIXED = {
    "{task}.train.steps": "the trial length is --steps, which is also ASHA's max_t",
    "{task}.train.eval_every": "ASHA compares trials at evaluation steps, set it with --set",
    "{task}.train.device": "the device follows the trial's resources",
    "data.categories": "categories are named on the command line",
    "data.data_dir": "set it with --data-dir", "data.cache_dir": "set it with --cache-dir",
    "data.download": "set it with --set",
}
SPACES_DIR = "spaces"  # package data: the default spaces and their README (the schema)
HELP = "fix these entries, see sketchrnn/tuning/spaces/README.md for the schema"


@dataclass(frozen=True)
class Param:
    path: str  # e.g. "draw.train.lr"
    kind: str  # a key of KINDS
    args: tuple[Any, ...]  # (low, high[, q]) or the choices

    def to_tune(self) -> Any:
        """The Ray Tune domain (imports ray)."""
        from ray import tune

        if self.kind == "choice":
            return tune.choice(list(self.args))
        if self.kind in ("randint", "lograndint"):
            low, high = self.args
            return getattr(tune, self.kind)(low, high + 1)  # inclusive here, exclusive in Ray
        return getattr(tune, self.kind)(*self.args)

    def extremes(self) -> list[Any]:
        """The values that bound what this parameter can produce."""
        if self.kind == "choice":
            numbers = [v for v in self.args if _is_number(v)]
            return sorted({min(numbers), max(numbers)}) if numbers else list(self.args)
        return [self.args[0], self.args[1]]

    def describe(self) -> str:
        return f"{self.kind}{list(self.args)}"


@dataclass(frozen=True)
class SearchSpace:
    task: str
    params: tuple[Param, ...]
    source: str

    def to_tune(self) -> dict[str, Any]:
        """`param_space` for the Tuner: flat dotted keys, one Ray domain each."""
        return {p.path: p.to_tune() for p in self.params}

    def apply(self, base: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """A copy of the raw config dict `base` with one sample's `values` set at their paths."""
        data = copy.deepcopy(base)
        for path, value in values.items():
            set_path(data, path, value)
        return data

    def as_json(self) -> dict[str, Any]:
        return {p.path: {p.kind: list(p.args)} for p in self.params}


def load_space(path: Path, task: str, base: dict[str, Any] | None = None) -> SearchSpace:
    """Read and check a space file (YAML or TOML); raises one ConfigError listing every problem."""
    return parse_space(read_config_file(Path(path)), task, source=str(path), base=base)


def default_space(task: str) -> Traversable:
    """The search space `tune TASK` uses without --space: package data, so a wheel has it too."""
    return importlib.resources.files(__package__).joinpath(SPACES_DIR).joinpath(f"{task}.yaml")


def load_default_space(task: str, base: dict[str, Any] | None = None) -> SearchSpace:
    resource = default_space(task)
    if not resource.is_file():
        raise ConfigError(f"no default search space for {task} (looked for {resource})",
                          "pass one with --space FILE, or reinstall sketchrnn")
    with importlib.resources.as_file(resource) as path:  # a real file even from a zipped install
        return load_space(path, task, base)


def parse_space(data: dict[str, Any], task: str, *, source: str = "search space",
                base: dict[str, Any] | None = None) -> SearchSpace:
    """Check `data` (path -> {kind: args}) for `task`; `base` is the raw config the sweep starts from."""
    problems: list[str] = []
    entries = _flatten(data, "", problems)
    if not entries and not problems:
        problems.append("no parameters to tune")
    params = []
    seen: set[str] = set()
    for path, spec in entries:
        if path in seen:
            problems.append(f"{path}: given twice")
            continue
        seen.add(path)
        found = _check_entry(path, spec, task, problems, base or {})
        if found is not None:
            params.append(found)
    problems += _ordering(params, base or {})
    if problems:
        raise ConfigError(f"{source}: {'; '.join(problems)}", HELP)
    return SearchSpace(task=task, params=tuple(params), source=source)


def _flatten(data: Any, prefix: str, problems: list[str]) -> list[tuple[str, Any]]:
    """[(dotted path, spec)]; a mapping under a *section* path is read as nested keys."""
    if not isinstance(data, dict):
        problems.append(f"{prefix or 'the file'} must be a mapping of config paths to distributions")
        return []
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and _section(path) is not None and not _is_spec(value):
            out += _flatten(value, f"{path}.", problems)
        else:
            out.append((path, value))
    return out


def _check_entry(path: str, spec: Any, task: str, problems: list[str], base: dict[str, Any]) -> Param | None:
    field = _leaf_field(path, base)
    if field is None:
        if _section(path) is not None:
            problems.append(f"{path}: is a section, not a value (name a field, e.g. {path}.{_first_leaf(path)})")
        else:
            close = difflib.get_close_matches(path, leaf_paths(base=base), n=1, cutoff=0.6)
            problems.append(f"{path}: unknown key" + (f" (did you mean {close[0]!r}?)" if close else ""))
        return None
    head = path.split(".")[0]
    if head != "data" and head != task:
        problems.append(f"{path}: belongs to the {head} models, not to `tune {task}` "
                        f"(use {task}.{path.split('.', 1)[1]})")
        return None
    fixed = FIXED.get(path.replace(f"{task}.", "{task}.", 1))
    if fixed:
        problems.append(f"{path}: cannot be tuned, {fixed}")
        return None
    if not (isinstance(spec, dict) and len(spec) == 1):
        problems.append(f"{path}: must be one distribution like {{loguniform: [1e-4, 1e-2]}} "
                        f"or {{choice: [a, b]}} (got {spec!r})")
        return None
    kind, args = next(iter(spec.items()))
    if kind not in KINDS:
        close = difflib.get_close_matches(str(kind), list(KINDS), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(KINDS)}"
        problems.append(f"{path}: unknown distribution {kind!r} ({hint})")
        return None
    before = len(problems)
    args = _check_args(path, kind, args, problems)
    if len(problems) > before:
        return None
    param = Param(path, kind, tuple(args))
    _check_field(param, field, problems)
    return param if len(problems) == before else None


def _check_args(path: str, kind: str, args: Any, problems: list[str]) -> list[Any]:
    names, produces = KINDS[kind]
    where = f"{path}: {kind}"
    if not isinstance(args, list):
        problems.append(f"{where} needs a list [{', '.join(names) or 'a, b, ...'}] (got {args!r})")
        return []
    if kind == "choice":
        if not args:
            problems.append(f"{where} needs at least one value")
        return args
    if len(args) != len(names):
        problems.append(f"{where} needs [{', '.join(names)}] (got {args!r})")
        return args
    if not all(_is_number(a) for a in args):
        problems.append(f"{where} needs numbers (got {args!r})")
        return args
    low, high = args[0], args[1]
    if produces == "int" and not all(isinstance(a, int) for a in args):
        problems.append(f"{where} needs whole numbers (got {args!r})")
    if low >= high:
        problems.append(f"{where} [{low}, {high}]: low must be below high")
    if kind in ("loguniform", "lograndint") and low <= 0:
        problems.append(f"{where} [{low}, {high}]: low must be > 0 on a log scale")
    if kind == "quniform" and not 0 < args[2] <= abs(high - low):
        problems.append(f"{where}: q {args[2]} must be > 0 and at most high - low")
    return args


def _check_field(param: Param, field: Any, problems: list[str]) -> None:
    """Can this distribution produce values of the field's type, within its constraints?"""
    base_type = _value_type(field.annotation)
    produces = KINDS[param.kind][1]
    if base_type is int and produces == "float":
        problems.append(f"{param.path}: is a whole number, use randint, lograndint or choice, "
                        f"not {param.kind}")
        return
    if base_type not in (int, float) and param.kind != "choice":
        problems.append(f"{param.path}: is not numeric, use choice")
        return
    constraints = tuple(field.metadata)
    adapter = TypeAdapter(Annotated[(field.annotation, *constraints)] if constraints else field.annotation)
    values = list(param.args) if param.kind == "choice" else param.extremes()
    for value in values:
        if base_type is int and isinstance(value, float):  # pydantic would accept 2.0 for an int
            problems.append(f"{param.path}: {value!r} is not a whole number")
            continue
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            problems.append(f"{param.path}: {value!r} is not allowed ({exc.errors()[0]['msg']})")


def _ordering(params: list[Param], base: dict[str, Any]) -> list[str]:
    """Ordered pairs (min_seq_len <= max_seq_len, ...) checked at every corner of the data ranges."""
    tuned = [p for p in params if p.path.startswith("data.") and all(_is_number(v) for v in p.extremes())]
    base_data = base.get("data") if isinstance(base.get("data"), dict) else {}
    found: list[str] = []
    for corner in itertools.islice(itertools.product(*(p.extremes() for p in tuned)), 256):
        data = {**base_data, **{p.path.split(".", 1)[1]: v for p, v in zip(tuned, corner)}}
        for problem in ordering_problems(data):
            text = f"{problem} for some samples (make the ranges disjoint)"
            if text not in found:
                found.append(text)
    return found if tuned else []


# --- the Config schema, walked by path ---------------------------------------------------------

def _model_of(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _section(path: str) -> type[BaseModel] | None:
    """The pydantic model at `path` ("draw.train"), or None when it is not a section."""
    node: type[BaseModel] | None = Config
    for part in path.split("."):
        field = node.model_fields.get(part) if node is not None else None
        node = _model_of(field.annotation) if field is not None else None
        if node is None:
            return None
    return node


def _leaf_field(path: str, base: dict[str, Any]) -> Any:
    """The field at `path`; a model's or loss's options are those of the class `base` names."""
    parent, _, name = path.rpartition(".")
    model = _section(parent) if parent else None
    field = section_fields(model, parent, base).get(name) if model is not None else None
    return field if field is not None and _model_of(field.annotation) is None else None


def _first_leaf(path: str) -> str:
    model = _section(path)
    return next(iter(model.model_fields)) if model is not None else "..."


def leaf_paths(model: type[BaseModel] = Config, prefix: str = "", base: dict[str, Any] | None = None) -> list[str]:
    """Every value path of the Config ("data.batch_size", "draw.train.lr", "draw.model.z_dim", ...)."""
    out = []
    for name, field in section_fields(model, prefix.rstrip("."), base).items():
        sub = _model_of(field.annotation)
        out += leaf_paths(sub, f"{prefix}{name}.", base) if sub else [f"{prefix}{name}"]
    return out


def _value_type(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args and typing.get_origin(annotation) is not typing.Literal:
        annotation = args[0] if len(args) == 1 else annotation
    return annotation if annotation in (int, float) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_spec(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)) in KINDS
