"""Configuration: pydantic models for data, model, loss and training, loaded from TOML/YAML.

Validation happens on the driver before anything heavy starts, and every problem is reported at
once in a single message (torchtune/litgpt style). The ``model`` and ``loss`` sections hold the
registered name plus that class's own options, checked against its ``Options`` (see
``sketchrnn.interfaces``). Model classes never see these objects: the builders receive flat
keyword arguments (``ModelConfig.build_kwargs``).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from sketchrnn.config_migrations import migrate_legacy_augment
from sketchrnn.data.bucketing import BUCKET_BATCHES
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
    bucket_batches: int = Field(
        BUCKET_BATCHES, ge=1, le=10_000, description="Bucketing pool: sketches drawn at random this many "
        "batches' worth at a time are sorted by length together (smaller: more random batches, more padding).")
    truncate_min: float = Field(0.0, ge=0, lt=1, description="Predict task: smallest tail fraction cut.")
    truncate_max: float = Field(0.5, ge=0, lt=1, description="Predict task: largest tail fraction cut.")

    @model_validator(mode="after")
    def _ranges(self) -> DataConfig:
        problems = ordering_problems(self.model_dump(exclude_unset=True))
        if problems:
            raise ValueError("; ".join(problems))
        return self


# Pairs (low, high) that must be ordered. Checked on the raw values too, so that they are
# reported together with field errors (pydantic skips "after" validators when a field fails).
_ORDERED = (("min_seq_len", "max_seq_len"), ("truncate_min", "truncate_max"))


def ordering_problems(data: dict[str, Any]) -> list[str]:
    """Problems between the keys given in a [data] section: pairs out of order, and a
    ``bucket_batches`` that ``bucket = false`` would silently ignore."""
    defaults = DataConfig.model_fields
    problems = []
    for low, high in _ORDERED:
        lo = data.get(low, defaults[low].default)
        hi = data.get(high, defaults[high].default)
        if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo > hi:
            problems.append(f"data.{low} {lo} > data.{high} {hi}")
    if data.get("bucket") is False and "bucket_batches" in data:
        problems.append(f"data.bucket_batches {data['bucket_batches']} has no effect with data.bucket "
                        "false: remove one of them")
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
    lr_decay: float | None = Field(
        None, gt=0, le=1, description="Exponential schedule's decay per step (magenta: 0.9999). "
        "Unset: chosen so that the learning rate reaches min_lr at the last step.")
    min_lr: float = Field(1e-5, ge=0, description="Learning-rate floor.")
    lr_schedule: Literal["exponential", "cosine"] = Field(
        "exponential",
        description="exponential: magenta's (lr - min_lr) lr_decay^step + min_lr; cosine: half a "
        "cosine from lr to min_lr at the last step (takes no lr_decay).",
    )
    weight_decay: float = Field(0.0, ge=0, description="Decoupled weight decay (AdamW when > 0).")
    grad_clip: float = Field(1.0, gt=0, description="Gradient norm clipping.")
    ema_decay: float = Field(0.0, ge=0, lt=1, description="Validate, save and sample an exponential "
                             "moving average of the weights with this decay (warm-up (1+t)/(10+t)); 0: off.")
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

    @model_validator(mode="after")
    def _honoured(self) -> TrainConfig:
        if self.lr_decay is not None and self.lr_schedule != "exponential":
            raise ValueError(f"lr_decay {self.lr_decay} has no effect with lr_schedule "
                             f"{self.lr_schedule!r}: remove lr_decay or use lr_schedule exponential")
        return self


class OutlierConfig(_Strict):
    """``[predict.outliers]``: outlier exposure (Hendrycks et al. 2019). Drawings of other
    categories are mixed into every training batch and their predictions pushed towards uniform;
    which categories may be used is a fixed rule (``sketchrnn.data.outliers``). On when
    ``data_dir`` is set and ``weight`` > 0."""

    weight: float = Field(0.5, ge=0, le=100, description="Weight of the cross-entropy to uniform "
                          "on outlier sketches (Hendrycks et al.'s 0.5; 0: off).")
    data_dir: Path | None = Field(None, description="Folder of QuickDraw <category>.ndjson "
                                  "outlier drawings, relative to data.data_dir unless absolute "
                                  "(unset: no outlier exposure).")
    per_batch: int = Field(50, ge=1, le=100_000, description="Outlier sketches added to each batch.")

    @property
    def enabled(self) -> bool:
        return self.data_dir is not None and self.weight > 0


class PretrainConfig(_Strict):
    """``[predict.pretrain]``: before training on its own categories, a fresh predict model's
    encoder learns to classify the drawings of every other category we hold (its head for them
    is dropped afterwards). Which categories may be used is the outlier rule
    (``sketchrnn.data.outliers``): never the model's own, the held-out or the excluded ones. On
    when ``data_dir`` or ``npz`` is set and ``steps`` > 0; a resumed job does not pretrain again."""

    data_dir: Path | None = Field(None, description="Folder searched recursively for QuickDraw "
                                  "<category>.ndjson / piling.js <category>.json drawings, "
                                  "relative to data.data_dir unless absolute (unset: none).")
    npz: dict[str, Path] = Field(default_factory=dict, description="More drawings: category name "
                                 "-> sketch-rnn .npz file (all splits used), relative to "
                                 "data.data_dir unless absolute.")
    steps: int = Field(1000, ge=0, le=10_000_000, description="Pretraining steps (0: off).")
    lr: float = Field(3e-3, gt=0, description="Peak learning rate (cosine to train.min_lr).")

    @property
    def enabled(self) -> bool:
        return (self.data_dir is not None or bool(self.npz)) and self.steps > 0


class AugmentConfig(_Strict):
    """Training-time augmentation of one task (``[draw.augment]`` / ``[predict.augment]``): a
    classifier wants rotation and stronger scaling that would teach a draw model tilted sketches."""

    scale: float = Field(0.15, ge=0, lt=1, description="Random per-axis scale, +-fraction.")
    drop: float = Field(0.1, ge=0, lt=1, description="Probability of dropping an interior point.")
    rotate: float = Field(0.0, ge=0, le=180, description="Random rotation of each sketch, +-degrees (0: none).")


class TaskConfig(_Strict):
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    outliers: OutlierConfig = Field(default_factory=OutlierConfig,
                                    description="Predict task only: outlier exposure.")
    augment: AugmentConfig = Field(default_factory=AugmentConfig,
                                   description="Training-time augmentation of this task.")
    pretrain: PretrainConfig = Field(default_factory=PretrainConfig,
                                     description="Predict task only: encoder pretraining.")


# The predict model's own defaults: what the draw settings would be wrong for. Chosen on the real
# four-category data (docs/predict.md): the classifier overfits 1,800 sketches per category within
# a few hundred steps at the draw models' settings, so it gets dropout, smoothing, weight decay,
# a cosine schedule that ends at a small learning rate, and stronger augmentation with rotation.
PREDICT_DEFAULTS: dict[str, dict[str, Any]] = {
    "model": {"name": "classifier"},
    "loss": {"name": "classification", "label_smoothing": 0.05},
    "train": {"lr": 3e-3, "lr_schedule": "cosine", "weight_decay": 0.05},
    "augment": {"scale": 0.2, "drop": 0.15, "rotate": 15.0},
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
        if isinstance(data, dict):
            data = migrate_legacy_augment(data)
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


# Reading files, --set overrides and recipes live in config_sources (which builds on this module);
# the names below were imported from here before and still resolve, lazily (no import cycle).
_MOVED = ("read_config_file", "set_path", "apply_overrides", "load_config", "MAX_CONFIG_BYTES",
          "MAX_FLOW_NESTING")


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import sketchrnn.config_sources as sources

        return getattr(sources, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
