"""The entry-point registry, against fake distributions installed into a temp site dir."""

from __future__ import annotations

import pytest

from sketchrnn.errors import PluginError
from sketchrnn.registry import DISABLE_AUTOLOAD_ENV, get_registry

GOOD = "class Model:\n    task = 'draw'\n    def __init__(self, width=3):\n        self.width = width\n"
WITH_OPTIONS = """
from pydantic import Field
from sketchrnn.interfaces import ComponentOptions

class Model:
    task = 'draw'

    class Options(ComponentOptions):
        width: int = Field(3, ge=1, description='Width.')

    def __init__(self, width=3, n_categories=None):
        self.width, self.n_categories = width, n_categories
"""


def test_builtins_register_through_entry_points():
    reg = get_registry()
    assert {"sketch_rnn", "sketch_rnn_uncond", "classifier"} <= set(reg.names("models"))
    assert {"sketch_rnn", "classification"} <= set(reg.names("losses"))
    assert "quickdraw" in reg.names("categories")
    builtin = {"sketch_rnn", "sketch_rnn_uncond", "classifier"}
    assert all(e.distribution == "sketchrnn" for n, e in reg.entries("models").items() if n in builtin)


def test_third_party_plugin_is_discovered_and_loaded_lazily(install_fake_dist):
    install_fake_dist("fake-plugin", {"sketchrnn.models": {"fancy": "fake_mod:Model"}}, {"fake_mod": WITH_OPTIONS})
    import sys

    reg = get_registry()
    entry = reg.entries("models")["fancy"]
    assert entry.distribution == "fake-plugin" and entry.version == "1.0"
    assert "fake_mod" not in sys.modules  # discovery reads metadata only
    cls = reg.load("models", "fancy")
    assert cls is reg.load("models", "fancy")  # cached
    from sketchrnn.registry import build_model

    model = build_model("fancy", width=5, n_categories=4)
    assert model.width == 5 and model.n_categories == 4
    with pytest.raises(PluginError) as info:
        build_model("fancy", widht=5)  # a typo is an error naming the valid options, not dropped
    assert "widht: unknown option (did you mean 'width'?" in str(info.value)
    with pytest.raises(PluginError, match="width: Input should be greater than or equal to 1"):
        build_model("fancy", width=0)


def test_a_class_without_options_takes_none(install_fake_dist):
    install_fake_dist("plain-plugin", {"sketchrnn.models": {"plain": "fake_plain:Model"}}, {"fake_plain": GOOD})
    from sketchrnn.registry import build_model

    assert build_model("plain", n_categories=3).width == 3  # context arguments it does not name are not passed
    with pytest.raises(PluginError, match="width: unknown option .*valid options of model 'plain': none"):
        build_model("plain", width=5)


def test_plugin_failing_on_import_is_reported_and_others_still_work(install_fake_dist):
    install_fake_dist(
        "broken-plugin", {"sketchrnn.models": {"broken": "fake_broken:Model"}},
        {"fake_broken": "raise RuntimeError('boom at import')\n"},
    )
    reg = get_registry()
    with pytest.raises(PluginError) as info:
        reg.load("models", "broken")
    msg = str(info.value)
    assert "broken" in msg and "broken-plugin" in msg and "boom at import" in msg
    rows = {r["name"]: r for r in reg.listing() if r["group"] == "models"}
    assert rows["broken"]["status"].startswith("error") and "boom at import" in rows["broken"]["status"]
    assert rows["sketch_rnn"]["status"] == "ok"


def test_duplicate_names_from_two_distributions_name_both(install_fake_dist):
    install_fake_dist("dist-one", {"sketchrnn.losses": {"twin": "fake_one:Model"}}, {"fake_one": GOOD})
    install_fake_dist("dist-two", {"sketchrnn.losses": {"twin": "fake_two:Model"}}, {"fake_two": GOOD})
    with pytest.raises(PluginError) as info:
        get_registry().load("losses", "twin")
    assert "dist-one" in str(info.value) and "dist-two" in str(info.value)


def test_unknown_name_lists_available_and_suggests():
    with pytest.raises(PluginError) as info:
        get_registry().load("models", "sketch_rn")
    msg = str(info.value)
    assert "did you mean 'sketch_rnn'" in msg and "classifier" in msg


def test_unknown_category_suggests_close_match():
    with pytest.raises(PluginError) as info:
        get_registry().resolve_category("piig")
    assert "'pig'" in str(info.value)


def test_disable_autoload_keeps_only_builtins(install_fake_dist, monkeypatch):
    install_fake_dist("fake-plugin", {"sketchrnn.models": {"fancy": "fake_mod:Model"}}, {"fake_mod": WITH_OPTIONS})
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    from sketchrnn.registry import reset_registry

    reset_registry()
    names = get_registry().names("models")
    assert "fancy" not in names and "sketch_rnn" in names


def test_category_source_plugin_and_ambiguity(install_fake_dist):
    source = (
        "class Source:\n    name = 'fakeshapes'\n"
        "    def names(self):\n        return ['blob', 'pig']\n"
        "SOURCE = Source()\n"
    )
    install_fake_dist("fake-shapes", {"sketchrnn.categories": {"fakeshapes": "fake_shapes:SOURCE"}},
                      {"fake_shapes": source})
    reg = get_registry()
    src, name = reg.resolve_category("blob")
    assert name == "blob" and src.name == "fakeshapes"
    with pytest.raises(PluginError) as info:
        reg.resolve_category("pig")  # both quickdraw and shapes have it
    assert "quickdraw:pig" in str(info.value) and "fakeshapes:pig" in str(info.value)
    assert reg.resolve_category("quickdraw:pig")[1] == "pig"
