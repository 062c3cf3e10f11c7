"""Google's pretrained magenta-js models: download one into the cache (validated), atomically.

The URL pattern is the one @magenta/sketch's README documents:
``https://storage.googleapis.com/quickdraw-models/sketchRNN/large_models/<name>.gen.json`` with
the category's name, spaces as underscores (``the_mona_lisa``). Google publishes about 100 of
them. The download goes through ``data.download`` (size cap, stall/speed/overall deadlines, temp
file, validation before the rename), so the cache only ever holds loadable models.
``SKETCHRNN_MODELS_MIRROR`` points at a copy of that folder (http, https or file URL).
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from sketchrnn.data.download import DownloadLimits, ProgressCallback, download_file, resolve_cache_dir
from sketchrnn.data.names import check_file_stem
from sketchrnn.errors import CheckpointError, DownloadError
from sketchrnn.interop.magenta_json import MAX_FILE_BYTES, MagentaModel, read_model

MODELS_URL = "https://storage.googleapis.com/quickdraw-models/sketchRNN/large_models"
MODELS_MIRROR_ENV = "SKETCHRNN_MODELS_MIRROR"
CACHE_SUBDIR = "magenta_models"  # inside the sketch cache (SKETCHRNN_CACHE)
# A 512-unit model is 3 MB; at the data download's minimum rate it needs 3 minutes.
LIMITS = DownloadLimits(max_bytes=MAX_FILE_BYTES, deadline_s=900.0)


def model_name(category: str) -> str:
    """The published file's stem for a category: ``"The Mona Lisa"`` -> ``"the_mona_lisa"``."""
    return check_file_stem(category.lower().replace(" ", "_"), "category name")


def model_url(category: str, base_url: str | None = None) -> str:
    base = (base_url or os.environ.get(MODELS_MIRROR_ENV) or MODELS_URL).rstrip("/")
    return f"{base}/{urllib.parse.quote(model_name(category))}.gen.json"


def fetch_pretrained(category: str, *, cache_dir: str | os.PathLike[str] | None = None,
                     base_url: str | None = None, progress: ProgressCallback | None = None,
                     limits: DownloadLimits = LIMITS) -> tuple[Path, MagentaModel]:
    """``(cached file, model)`` of Google's model for ``category``, downloaded unless cached."""
    final = resolve_cache_dir(cache_dir) / CACHE_SUBDIR / f"{model_name(category)}.gen.json"
    if final.is_file():
        try:
            return final, read_model(final)
        except CheckpointError as e:
            raise CheckpointError(e.message, f"delete {final} to download it again") from e
    url = model_url(category, base_url)
    fix = (f"Google publishes models for about 100 categories at {MODELS_URL}; check the name, or "
           f"set {MODELS_MIRROR_ENV} to a reachable copy, or download the file and run "
           "`sketchrnn import FILE`")

    def check(tmp: Path) -> None:
        try:
            read_model(tmp)
        except CheckpointError as e:
            detail = e.message.replace(str(tmp), "the file")
            raise DownloadError(f"the file downloaded from {url} is not a magenta-js model: "
                                f"{detail}", fix) from e

    download_file(url, final, check=check, limits=limits, fix=fix, progress=progress)
    return final, read_model(final)
