"""Put every category's data on this machine before training starts, or say at once what is missing.

`fit` and `tune` call `fetch_categories` on the driver, before Ray starts: each category is
downloaded once (the workers then read it from the cache or `--data-dir`), and every category
that cannot be had is named in one error, in seconds, instead of one failure per worker after a
cluster has started. Once a server could not be reached at all, the remaining categories are
only looked up locally: the same server would refuse them too, each after its own timeout.

Sources without a `fetch` method (generated data, such as the shapes plugin) need nothing here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sketchrnn.config import DataConfig
from sketchrnn.data.download import how_to_provide
from sketchrnn.errors import DataError, UnreachableError

# progress(category, bytes_done, bytes_total_or_None) while a category downloads.
FetchProgress = Callable[[str, int, "int | None"], None]


def fetch_categories(categories: Sequence[str], data: DataConfig,
                     progress: FetchProgress | None = None) -> None:
    """Make every category loadable here; one `DataError` naming all that are not."""
    from sketchrnn.registry import get_registry

    problems: list[str] = []
    unreachable: list[str] = []
    first_unreachable: UnreachableError | None = None
    fix: str | None = None
    for category in categories:
        source, name = get_registry().resolve_category(category, data_dir=data.data_dir)
        if not hasattr(source, "fetch"):
            continue
        on_bytes = (lambda done, total, name=name: progress(name, done, total)) if progress else None
        try:
            source.fetch(name, data_dir=data.data_dir, cache_dir=data.cache_dir,
                         download=data.download and first_unreachable is None, progress=on_bytes)
        except UnreachableError as exc:
            first_unreachable = exc
            unreachable.append(name)
        except DataError as exc:
            if first_unreachable is not None and data.data_dir is None and data.download:
                unreachable.append(name)  # not cached, and its server is down
            else:
                problems.append(exc.message)
                fix = exc.fix
    if not (problems or unreachable):
        return
    if first_unreachable is not None:
        problems.insert(0, f"cannot download {_names(unreachable)}: {first_unreachable.message}")
        fix = how_to_provide("their .npz files") if len(unreachable) > 1 else first_unreachable.fix
    missing = len(unreachable) + len(problems) - (1 if unreachable else 0)
    raise DataError(f"no data for {missing} of {len(categories)} categories: " + "; ".join(problems), fix)


def _names(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)
