"""Entry-point registry for models, losses and category sources.

The built-ins register through this package's own entry points, exactly like third-party
plugins (simonw/llm style). Discovery reads entry-point metadata only; an object is imported the
first time it is used and cached. A plugin that fails to import is reported with its name,
distribution and error, and does not break the others.
"""

from __future__ import annotations

import difflib
import inspect
import os
import reprlib
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sketchrnn.errors import PluginError
from sketchrnn.model.options import options_class

GROUPS = {
    "models": "sketchrnn.models",
    "losses": "sketchrnn.losses",
    "categories": "sketchrnn.categories",
}
KIND = {"models": "model", "losses": "loss", "categories": "category"}  # one entry of each group
CORE_DISTRIBUTION = "sketchrnn"
# Like PYTEST_DISABLE_PLUGIN_AUTOLOAD: only the built-ins are discovered when set.
DISABLE_AUTOLOAD_ENV = "SKETCHRNN_DISABLE_PLUGIN_AUTOLOAD"


@dataclass
class PluginEntry:
    group: str
    name: str
    value: str  # "module:attr", as declared
    distribution: str
    version: str
    entry_point: Any = field(repr=False, default=None)


def _distribution_of(ep: Any) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown", ""
    return dist.metadata["Name"] or "unknown", dist.version or ""


def suggest(name: str, available: Iterable[str]) -> str:
    """'; did you mean X?' plus the list of available names, for error messages."""
    names = sorted(available)
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
    return f"available: {shown}.{hint}"


class Registry:
    """Discovers entry points lazily; `entry_points` is injectable so tests can fake installs."""

    def __init__(self, entry_points: Callable[..., Any] = metadata.entry_points) -> None:
        self._entry_points = entry_points
        self._entries: dict[str, dict[str, PluginEntry]] | None = None
        self._duplicates: dict[tuple[str, str], list[PluginEntry]] = {}
        self._loaded: dict[tuple[str, str], Any] = {}
        self._failed: dict[tuple[str, str], PluginError] = {}

    # -- discovery ---------------------------------------------------------------------------
    def _discover(self) -> dict[str, dict[str, PluginEntry]]:
        if self._entries is not None:
            return self._entries
        only_core = os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip() not in ("", "0")
        entries: dict[str, dict[str, PluginEntry]] = {g: {} for g in GROUPS}
        seen: dict[tuple[str, str, str], bool] = {}
        for group, ep_group in GROUPS.items():
            for ep in self._entry_points(group=ep_group):
                dist, version = _distribution_of(ep)
                if only_core and dist != CORE_DISTRIBUTION:
                    continue
                key = (group, ep.name, dist)
                if key in seen:  # the same distribution seen twice on sys.path
                    continue
                seen[key] = True
                entry = PluginEntry(group, ep.name, ep.value, dist, version, ep)
                if ep.name in entries[group]:
                    self._duplicates.setdefault((group, ep.name), [entries[group][ep.name]])
                    self._duplicates[(group, ep.name)].append(entry)
                else:
                    entries[group][ep.name] = entry
        self._entries = entries
        return entries

    def entries(self, group: str) -> dict[str, PluginEntry]:
        if group not in GROUPS:
            raise PluginError(f"unknown plugin group {group!r}", suggest(group, GROUPS))
        return dict(self._discover()[group])

    def names(self, group: str) -> list[str]:
        return sorted(self.entries(group))

    # -- loading -----------------------------------------------------------------------------
    def _check_duplicate(self, group: str, name: str) -> None:
        dupes = self._duplicates.get((group, name))
        if dupes:
            who = " and ".join(f"{e.distribution} ({e.value})" for e in dupes)
            raise PluginError(
                f"{GROUPS[group]} name {name!r} is registered by both {who}",
                "uninstall one of these distributions or rename its entry point",
            )

    def load(self, group: str, name: str) -> Any:
        """Import (once) and return the object registered as `name` in `group`."""
        entries = self.entries(group)
        if name not in entries:
            raise PluginError(f"unknown {KIND[group]} {name!r}", suggest(name, entries))
        self._check_duplicate(group, name)
        key = (group, name)
        if key in self._loaded:
            return self._loaded[key]
        if key in self._failed:
            raise self._failed[key]
        entry = entries[name]
        try:
            obj = entry.entry_point.load()
        except Exception as exc:  # any import-time failure of a plugin is reported, not raised raw
            err = PluginError(
                f"plugin {name!r} ({GROUPS[group]}, from distribution {entry.distribution}) "
                f"failed to load: {type(exc).__name__}: {exc}".replace("\n", " "),
                f"fix or reinstall {entry.distribution}, or set {DISABLE_AUTOLOAD_ENV}=1",
            )
            self._failed[key] = err
            raise err from exc
        self._loaded[key] = obj
        return obj

    def status(self, group: str, name: str) -> str:
        """'ok' or the one-line reason it cannot be used (imports the plugin)."""
        try:
            self.load(group, name)
        except PluginError as exc:
            return f"error: {exc.message}"
        return "ok"

    def listing(self) -> list[dict[str, Any]]:
        """One row per entry; models and losses that load also list their options."""
        rows = []
        for group in GROUPS:
            for name, entry in sorted(self.entries(group).items()):
                status = self.status(group, name)
                row: dict[str, Any] = {
                    "group": group,
                    "name": name,
                    "distribution": f"{entry.distribution} {entry.version}".strip(),
                    "status": status,
                }
                if group in CONTEXT_ARGUMENTS:
                    row["options"] = describe_options(self.load(group, name)) if status == "ok" else []
                rows.append(row)
        return rows

    def plugin_versions(self) -> dict[str, str]:
        """Versions of every distribution providing entries (stored in checkpoints)."""
        out = {}
        for group in GROUPS:
            for entry in self.entries(group).values():
                out[entry.distribution] = entry.version
        return out

    # -- categories --------------------------------------------------------------------------
    def category_sources(self) -> dict[str, Any]:
        """Every category source that loads; broken ones are skipped (listed by `plugins`)."""
        sources = {}
        for name in self.names("categories"):
            try:
                sources[name] = self.load("categories", name)
            except PluginError:
                continue
        return sources

    def resolve_category(self, category: str, *, data_dir: Path | None = None) -> tuple[Any, str]:
        """(source, canonical name) for `name` or `source:name`; unknown or ambiguous names fail.

        A plain name no source provides is the user's own category when ``data_dir`` holds its
        ``<name>.npz`` (``data.categories.LOCAL_FILES``; never downloaded)."""
        source_name, sep, bare = category.partition(":")
        sources = self.category_sources()
        if sep:
            if source_name not in sources:
                raise PluginError(f"unknown category source {source_name!r}", suggest(source_name, sources))
            sources = {source_name: sources[source_name]}
        else:
            bare = category
        found = []
        known: list[str] = []
        for sname, source in sources.items():
            canonical = source.canonical_name(bare) if hasattr(source, "canonical_name") else None
            names = source.names()
            known.extend(names)
            if canonical is None and bare in names:
                canonical = bare
            if canonical is not None:
                found.append((sname, source, canonical))
        if not found:
            if sep:
                raise PluginError(f"unknown category {category!r}", suggest(bare, known))
            return _own_category(category, data_dir, known)
        if len(found) > 1:
            who = " and ".join(f"{s}:{c}" for s, _, c in found)
            raise PluginError(f"category {category!r} is provided by {who}", f"write one of {who}")
        return found[0][1], found[0][2]


def _own_category(name: str, data_dir: Path | None, known: list[str]) -> tuple[Any, str]:
    """(the local-files source, ``name``) when ``data_dir`` holds its file, else the error that
    says where it looked and the two ways to get a category: prepare it, or name a known one."""
    from sketchrnn.data.categories import LOCAL_FILES
    from sketchrnn.data.download import file_name

    canonical = LOCAL_FILES.canonical_name(name, data_dir)
    if canonical is not None:
        return LOCAL_FILES, canonical
    where = (f"the data dir {data_dir} has no {file_name(name)!r}" if data_dir is not None
             else "no --data-dir was given")
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise PluginError(
        f"unknown category {name!r}: not a QuickDraw or plugin category, and {where}",
        f"prepare your drawings with `sketchrnn data prepare DRAWINGS --out DIR` and pass "
        f"--data-dir DIR, or name a QuickDraw category to download{hint}")


_DEFAULT: Registry | None = None


def get_registry() -> Registry:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Registry()
    return _DEFAULT


def reset_registry() -> None:
    """Forget discovered plugins (tests, or after installing a plugin at run time)."""
    global _DEFAULT
    _DEFAULT = None


# Arguments the task supplies when it builds a component (never read from the config): a class
# receives those its constructor names.
CONTEXT_ARGUMENTS = {"models": ("n_categories",), "losses": ("n_max", "total_steps")}
# The keys the core's config once shared between every model (or loss). Checkpoints written then
# store all of them; the ones a class does not declare are ignored when it is rebuilt, and so are
# size presets' keys. Any other key a class does not declare is an error.
SHARED_LEGACY_KEYS = {
    "models": frozenset({"enc_hidden", "dec_hidden", "z_dim", "n_mixtures", "cell", "recurrent_dropout",
                         "head_hidden", "head_dropout", "conv_channels", "feature_dropout"}),
    "losses": frozenset({"kl_weight", "kl_weight_start", "kl_decay_rate", "kl_min", "label_smoothing"}),
}


def describe_options(cls: Any) -> list[dict[str, Any]]:
    """Name, type, default and description of each option (for `sketchrnn plugins`)."""
    rows = []
    for name, field in options_class(cls).model_fields.items():
        ann = field.annotation
        if typing.get_origin(ann) is typing.Literal:
            kind = " | ".join(repr(value) for value in typing.get_args(ann))
        else:
            kind = ann.__name__ if isinstance(ann, type) else str(ann).replace("typing.", "")
        rows.append({"name": name, "type": kind, "default": field.get_default(call_default_factory=True),
                     "description": field.description or ""})
    return rows


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 2, 4, 4, 60, 60


def short_repr(value: Any) -> str:
    """A bounded repr for messages: never walks more than a few levels of a (maybe huge) input."""
    return _SHORT.repr(value)


def _option_problem(err: dict[str, Any], group: str, name: str, known: list[str]) -> str:
    key = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return (f"{key}: unknown option ({hint}valid options of {KIND[group]} {name!r}: "
                f"{', '.join(known) or 'none'})")
    return f"{key}: {err['msg']} (got {short_repr(err.get('input'))})"


def check_options(group: str, name: str, values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``(every option of `name`, resolved, [])`` or ``({}, problems)``, one line per problem
    (an unknown key names the valid options, with a did-you-mean)."""
    try:
        cls = get_registry().load(group, name)
    except PluginError as exc:
        return {}, [f"name: {exc}"]
    options = options_class(cls)
    try:
        return options.model_validate(values).model_dump(), []
    except ValidationError as exc:
        known = list(options.model_fields)
        return {}, [_option_problem(e, group, name, known) for e in exc.errors(include_url=False)]


def _build(group: str, name: str, kwargs: dict[str, Any]) -> Any:
    cls = get_registry().load(group, name)
    params = inspect.signature(cls).parameters
    context = {k: kwargs.pop(k) for k in CONTEXT_ARGUMENTS[group] if k in kwargs}
    context = {k: v for k, v in context.items() if k in params}
    declared = options_class(cls).model_fields
    values = {k: v for k, v in kwargs.items() if k in declared or k not in SHARED_LEGACY_KEYS[group]}
    options, problems = check_options(group, name, values)
    if problems:
        raise PluginError(f"invalid options for {KIND[group]} {name!r}: {'; '.join(problems)}",
                          f"use the options `sketchrnn plugins` lists for {name!r}")
    try:
        return cls(**context, **options)
    except (TypeError, ValueError) as exc:
        raise PluginError(f"{KIND[group]} {name!r} rejected its arguments: {exc}",
                          f"check the {KIND[group]} section") from exc


def model_arguments(name: str, options: dict[str, Any], **context: Any) -> dict[str, Any]:
    """What ``build_model(name, **...)`` takes and a checkpoint stores: the model's own options
    plus the task's context arguments (``n_categories``) its constructor names."""
    params = inspect.signature(get_registry().load("models", name)).parameters
    return {**options, **{k: v for k, v in context.items() if k in params}}


def build_model(name: str, **kwargs: Any) -> Any:
    """Instantiate a registered model from its options (validated) and context arguments."""
    return _build("models", name, dict(kwargs))


def build_loss(name: str, **kwargs: Any) -> Any:
    """Instantiate a registered loss from its options (validated) and context arguments
    (``n_max``, ``total_steps``)."""
    return _build("losses", name, dict(kwargs))
