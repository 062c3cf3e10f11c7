"""Configuration: pydantic models for data, model, loss and training, loaded from TOML/YAML.

Validation happens on the driver before anything heavy starts, and every problem is reported at
once in a single message (torchtune/litgpt style). The ``model`` and ``loss`` sections hold the
registered name plus that class's own options, checked against its ``Options`` (see
``sketchrnn.interfaces``). Model classes never see these objects: the builders receive flat
keyword arguments (``ModelConfig.build_kwargs``).
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from sketchrnn.errors import ConfigError, PluginError
from sketchrnn.registry import short_repr

DEFAULT_CATEGORIES = ["bicycle", "clock", "hand", "spider", "sun"]

# The sampling temperature (Sec. 4.2 of Ha & Eck 2017; see ``sampling.draw_step``): one default
# and one valid range for the CLI, the web API and the library. 0.25 draws clean, typical sketches
# of a trained model; beyond 2 a draw model's samples are noise; towards 0 the softmax becomes an
# argmax (greedy mode does that).
DEFAULT_TEMPERATURE = 0.25
MIN_TEMPERATURE = 1e-3
MAX_TEMPERATURE = 2.0
# How one T tempers the discrete choices (see ``sampling.temperature_factors``): "paper" divides
# the mixture and pen logits by T, "magenta-js" (the browser's ``getPDF``) by 0.5 + 0.5 T. The
# default is the one that measured better: on the four shared categories, 500 samples at T=0.25
# judged by the predict model, magenta-js's samples were recognised more often, with fewer
# scribble clusters (docs/sampling.md has the figures). Every command that samples uses it.
TEMPERATURE_STYLES = ("paper", "magenta-js")
DEFAULT_TEMPERATURE_STYLE = "magenta-js"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Strict):
    categories: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CATEGORIES),
        description="Categories used by --all-categories and the predict model.",
    )
    data_dir: Path | None = Field(None, description="Folder with <category>.npz files; no download.")
    cache_dir: Path | None = Field(None, description="Download cache (default: user cache dir).")
    download: bool = Field(True, description="Download missing categories from the QuickDraw bucket.")
    max_seq_len: int = Field(200, ge=10, le=10_000, description="Drop longer sketches; N_max of the loss.")
    min_seq_len: int = Field(10, ge=2, description="Drop shorter sketches.")
    clamp: float = Field(1000.0, gt=0, description="Clamp raw offsets to +-clamp before scaling.")
    batch_size: int = Field(100, ge=1, le=100_000, description="Sketches per batch (per worker).")
    bucket: bool = Field(True, description="Group sketches of similar length into batches.")
    augment_scale: float = Field(0.15, ge=0, lt=1, description="Random per-axis scale, +-fraction.")
    augment_drop: float = Field(0.1, ge=0, lt=1, description="Probability of dropping an interior point.")
    augment_rotate: float = Field(
        0.0, ge=0, le=180, description="Random rotation of each sketch, +-degrees (0: none)."
    )
    truncate_min: float = Field(0.0, ge=0, lt=1, description="Predict task: smallest tail fraction cut.")
    truncate_max: float = Field(0.5, ge=0, lt=1, description="Predict task: largest tail fraction cut.")

    @model_validator(mode="after")
    def _ranges(self) -> DataConfig:
        problems = ordering_problems(self.model_dump())
        if problems:
            raise ValueError("; ".join(problems))
        return self


# Pairs (low, high) that must be ordered. Checked on the raw values too, so that they are
# reported together with field errors (pydantic skips "after" validators when a field fails).
_ORDERED = (("min_seq_len", "max_seq_len"), ("truncate_min", "truncate_max"))


def ordering_problems(data: dict[str, Any]) -> list[str]:
    defaults = DataConfig.model_fields
    problems = []
    for low, high in _ORDERED:
        lo = data.get(low, defaults[low].default)
        hi = data.get(high, defaults[high].default)
        if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo > hi:
            problems.append(f"data.{low} {lo} > data.{high} {hi}")
    return problems


class _ComponentConfig(BaseModel):
    """A registered model or loss: ``name`` plus that class's own options as flat keys beside it,
    checked against the class's ``Options`` (unknown keys are errors naming the valid ones)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)
    _group: ClassVar[str]

    def _base_options(self) -> dict[str, Any]:
        """Values the explicit keys override (a model's size preset)."""
        return {}

    def _resolve(self) -> tuple[dict[str, Any], list[str]]:
        from sketchrnn.registry import check_options

        return check_options(self._group, self.name, {**self._base_options(), **(self.model_extra or {})})

    @model_validator(mode="wrap")
    @classmethod
    def _every_problem(cls, data: Any, handler: Any) -> Any:
        """A bad ``name`` type or ``preset`` must not hide the option problems (the check below
        runs only after the fields validate): report both."""
        try:
            return handler(data)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            name = data.get("name", cls.model_fields["name"].default) if isinstance(data, dict) else None
            if not isinstance(name, str) or any(e["type"] == "component_options" for e in errors):
                raise
            from sketchrnn.registry import check_options

            options = {k: v for k, v in data.items() if k not in cls.model_fields}
            problems = check_options(cls._group, name, options)[1]
            if not problems:
                raise
            details = [InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"], ctx=e.get("ctx", {}))
                       for e in errors]
            details.append(InitErrorDetails(type=PydanticCustomError(
                "component_options", "{problems}", {"problems": problems}), loc=(), input=data))
            raise ValidationError.from_exception_data(cls.__name__, details) from None

    @model_validator(mode="after")
    def _check_options(self) -> _ComponentConfig:
        options, problems = self._resolve()
        if problems:
            raise PydanticCustomError("component_options", "{problems}", {"problems": problems})
        # Every option, resolved: dumps (config.yaml, checkpoint metadata) are complete and
        # re-validate to the same values, and `cfg.draw.model.z_dim` reads like a field.
        extra = self.model_extra if self.model_extra is not None else {}
        extra.clear()
        extra.update(options)
        return self

    def build_kwargs(self) -> dict[str, Any]:
        """Every option of the named class, resolved (defaults < preset < explicit keys): what the
        builder takes and the checkpoint stores."""
        options, problems = self._resolve()
        if problems:  # only reachable after an invalid assignment was bypassed
            raise ConfigError(f"{self.name!r}: {'; '.join(problems)}", "fix its options")
        return options


class ModelConfig(_ComponentConfig):
    """``[draw.model]`` / ``[predict.model]``: ``name``, ``preset`` and the model's own options."""

    _group = "models"
    name: str = Field("sketch_rnn", description="Registered model (see `sketchrnn plugins`).")
    preset: Literal["tiny", "small", "paper"] | None = Field(
        None, description="Size preset; explicit size fields below still win when set in the file."
    )

    def _base_options(self) -> dict[str, Any]:
        if self.preset is None:
            return {}
        from sketchrnn.model.presets import preset_kwargs
        from sketchrnn.registry import get_registry

        try:
            return preset_kwargs(self.preset, get_registry().load("models", self.name))
        except PluginError:  # reported by the options check
            return {}


class LossConfig(_ComponentConfig):
    """``[draw.loss]`` / ``[predict.loss]``: ``name`` and the loss's own options."""

    _group = "losses"
    name: str = Field("sketch_rnn", description="Registered loss (see `sketchrnn plugins`).")


class TrainConfig(_Strict):
    steps: int = Field(10_000, ge=1, description="Optimiser steps.")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate.")
    lr_decay: float = Field(0.9999, gt=0, le=1, description="Multiplicative decay per step.")
    min_lr: float = Field(1e-5, ge=0, description="Learning-rate floor.")
    lr_schedule: Literal["exponential", "cosine"] = Field(
        "exponential",
        description="exponential: magenta's (lr - min_lr) lr_decay^step + min_lr; cosine: lr to "
        "min_lr over `steps` (lr_decay unused).",
    )
    weight_decay: float = Field(0.0, ge=0, description="Decoupled weight decay (AdamW when > 0).")
    grad_clip: float = Field(1.0, gt=0, description="Gradient norm clipping.")
    eval_every: int = Field(500, ge=1, description="Validate every K steps.")
    eval_batches: int = Field(20, ge=1, description="Validation batches per evaluation.")
    checkpoint_every: int = Field(1000, ge=1, description="Checkpoint every K steps.")
    early_stop_patience: int | None = Field(
        None, ge=1, description="Stop after this many evaluations without a better valid loss."
    )
    seed: int = Field(0, description="Random seed (data order, init, sampling).")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: cuda when present.")
    tf32: bool = Field(True, description="TF32 matmuls and cuDNN on GPUs that have it (false: full fp32).")
    compile: Literal["off", "auto", "on"] = Field(
        "off", description="Capture the training forward with torch.compile, batches padded to 4 "
        "bucket lengths: auto = CUDA graphs on a GPU only; on = any device; eager where it fails.")

    @field_validator("compile", mode="before")
    @classmethod
    def _yaml_switch(cls, value: Any) -> Any:  # YAML 1.1 (--set, .yaml files) reads off/on as booleans
        return ("on" if value else "off") if isinstance(value, bool) else value


class OutlierConfig(_Strict):
    """``[predict.outliers]``: outlier exposure (Hendrycks et al. 2019). Drawings of other
    categories are mixed into every training batch and their predictions pushed towards uniform;
    which categories may be used is a fixed rule (``sketchrnn.data.outliers``)."""

    weight: float = Field(0.0, ge=0, le=100, description="Weight of the cross-entropy to uniform "
                          "on outlier sketches (0: no outlier exposure).")
    data_dir: Path | None = Field(None, description="Folder of QuickDraw <category>.ndjson "
                                  "outlier drawings; a relative path is under data.data_dir.")
    per_batch: int = Field(50, ge=1, le=100_000, description="Outlier sketches added to each batch.")


class TaskConfig(_Strict):
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    outliers: OutlierConfig = Field(default_factory=OutlierConfig,
                                    description="Predict task only: outlier exposure.")


# The predict model's own defaults: what the draw settings would be wrong for. Chosen on the real
# four-category data (docs/predict.md): the classifier overfits 1,800 sketches per category within
# a few hundred steps at the draw models' settings, so it gets dropout, smoothing, weight decay and
# a cosine schedule that ends at a small learning rate.
PREDICT_DEFAULTS: dict[str, dict[str, Any]] = {
    "model": {"name": "classifier"},
    "loss": {"name": "classification", "label_smoothing": 0.05},
    "train": {"lr": 3e-3, "lr_schedule": "cosine", "weight_decay": 0.05},
}


def _predict_defaults() -> TaskConfig:
    return TaskConfig.model_validate(PREDICT_DEFAULTS)


class Config(_Strict):
    """Everything one `sketchrnn fit` needs: shared data, the draw models, the predict model."""

    data: DataConfig = Field(default_factory=DataConfig)
    draw: TaskConfig = Field(default_factory=TaskConfig, description="Per-category draw models.")
    predict: TaskConfig = Field(default_factory=_predict_defaults, description="Classifier.")

    @model_validator(mode="before")
    @classmethod
    def _predict_section_defaults(cls, data: Any) -> Any:
        """A partial [predict] section keeps the predict defaults for every key it does not set
        (the classifier and its loss, not the draw defaults)."""
        if isinstance(data, dict) and isinstance(data.get("predict"), dict):
            predict = dict(data["predict"])
            for section, defaults in PREDICT_DEFAULTS.items():
                given = predict.get(section, {})
                if not isinstance(given, dict):
                    continue
                if given.get("name", defaults.get("name")) != defaults.get("name"):
                    continue  # another model or loss: the default one's options do not apply
                predict[section] = {**defaults, **given}
            data = {**data, "predict": predict}
        return data


def section_fields(section: type[BaseModel], path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The value fields (pydantic ``FieldInfo``) of the config section at ``path``: a model or loss
    section ("draw.model") adds the options of the class the raw config ``data`` names there, else
    of the task's default class (for tools that walk the schema, e.g. tune search spaces)."""
    fields = dict(section.model_fields)
    if not issubclass(section, _ComponentConfig):
        return fields
    from sketchrnn.registry import get_registry, options_class

    task, _, part = path.partition(".")
    given = (data or {}).get(task, {})
    given = given.get(part, {}) if isinstance(given, dict) else {}
    default = PREDICT_DEFAULTS[part]["name"] if task == "predict" else section.model_fields["name"].default
    name = given.get("name", default) if isinstance(given, dict) else default
    try:
        fields.update(options_class(get_registry().load(section._group, str(name))).model_fields)
    except PluginError:  # an unknown name is reported where the config is validated
        pass
    return fields


# Config files are a few kB. PyYAML's time grows with the square of the number of unclosed
# brackets (5,000 take 13 s) and it recurses once per level, so deeper flow nesting is refused
# before parsing, as are files too big to be a config.
MAX_CONFIG_BYTES = 1 << 20
MAX_FLOW_NESTING = 64


def _check_yaml_nesting(text: str, where: str) -> None:
    depth = peak = 0
    for char in text:
        if char in "[{":
            depth += 1
            peak = max(peak, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    if peak > MAX_FLOW_NESTING:
        raise ConfigError(f"{where} nests [ or {{ {peak} levels deep", f"use at most {MAX_FLOW_NESTING}")


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML or YAML file into a dict (no validation yet)."""
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist", "pass an existing .toml or .yaml file")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {path} is {path.stat().st_size} bytes, too big for a config",
                          f"keep it under {MAX_CONFIG_BYTES} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text: {exc}", "save it as UTF-8") from None
    try:
        if path.suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            _check_yaml_nesting(text, f"config file {path}")
            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"config file {path} has an unknown suffix", "use .toml, .yaml or .yml")
    except ConfigError:
        raise
    except Exception as exc:  # the parsers' own errors carry line numbers
        raise ConfigError(f"config file {path} is not valid: {exc}".replace("\n", " "), "fix its syntax")
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top", "use section.key = value")
    return data


def set_path(data: dict[str, Any], key: str, value: Any) -> None:
    """data["a"]["b"]["c"] = value for key "a.b.c", creating sections as needed."""
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config key {key!r}: {part} is not a section", "check the key path")
        node = child
    node[parts[-1]] = value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `section.key=value` overrides; values are parsed as YAML scalars (1e-3, true, [a, b])."""
    import yaml

    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r} is not key=value", "write e.g. --set draw.train.steps=500")
        _check_yaml_nesting(raw, f"--set {key.strip()}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        except RecursionError:  # block nesting ("- - - ...") has no brackets to count
            raise ConfigError(f"--set {key.strip()}: the value is nested too deeply",
                              "give a plain value or a short list") from None
        set_path(data, key, value)
    return data


def _describe_problem(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "component_options":
        return "; ".join(f"{loc}.{problem}" for problem in err["ctx"]["problems"])
    if err["type"] == "extra_forbidden":
        parent = Config
        for part in err["loc"][:-1]:
            field = parent.model_fields.get(str(part))
            parent = field.annotation if field is not None else None  # type: ignore[assignment]
            if not (isinstance(parent, type) and issubclass(parent, BaseModel)):
                break
        known = list(parent.model_fields) if isinstance(parent, type) and issubclass(parent, BaseModel) else []
        close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else (f"; known: {', '.join(known)}" if known else "")
        return f"{loc}: unknown key{hint}"
    return f"{loc or 'config'}: {err['msg']} (got {short_repr(err.get('input'))})"


def validate_config(data: dict[str, Any]) -> Config:
    """Validate a raw dict, reporting every problem in one ConfigError."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = [_describe_problem(e) for e in exc.errors(include_url=False)
                    if e["type"] != "value_error" or e["loc"] != ("data",)]
        data_section = data.get("data")
        if isinstance(data_section, dict):
            problems += ordering_problems(data_section)
        raise ConfigError(
            f"invalid configuration: {'; '.join(problems)}",
            "correct these values in the --config file or --set options",
        ) from None


def load_config(path: Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """The config the CLI uses: defaults < file < --set overrides."""
    data = read_config_file(path) if path is not None else {}
    return validate_config(apply_overrides(data, list(overrides)))

