"""The on-disk cache of the default lexicon's slow inputs: used when it matches, never wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from faq import Lexicon, warm
from faq.lexicon import DATA_DIR

SAMPLE = "udh tf blm dikonfirmasi, customer service buka jam brp? refundnya kapan masuk"


def _sample_warm() -> warm.Warm:
    return warm.Warm(
        {"gmn": "bagaimana"},
        frozenset({"yang"}),
        frozenset({"last", "yesterday"}),
        {"pakaian": ("pakai", True), "shipping": ("ship", False)},
        {"shipping": "ship"},
    )


def test_saved_values_load_back(tmp_path: Path) -> None:
    w = _sample_warm()
    warm.save(w, tmp_path)
    assert warm.load(tmp_path) == w


def test_nothing_cached_loads_nothing(tmp_path: Path) -> None:
    assert warm.load(tmp_path) is None


def test_cache_of_other_code_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warm.save(_sample_warm(), tmp_path)
    # Another package version or stemmer source gives another key: the old file is not read.
    monkeypatch.setattr(warm, "PACKAGES", (*warm.PACKAGES, "a-package-that-changed"))
    assert warm.load(tmp_path) is None


def test_unreadable_cache_is_ignored(tmp_path: Path) -> None:
    warm.save(_sample_warm(), tmp_path)
    (path,) = tmp_path.iterdir()
    path.write_text('{"colloquial": ', encoding="utf-8")
    assert warm.load(tmp_path) is None


def test_unwritable_directory_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    warm.save(_sample_warm(), blocker / "cache")
    assert warm.load(blocker / "cache") is None


def test_cache_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAPA_FAQ_CACHE", "off")
    assert warm.cache_dir() is None
    monkeypatch.setenv("SAPA_FAQ_CACHE", "/somewhere")
    assert warm.cache_dir() == Path("/somewhere")


def test_lexicon_from_the_cache_analyses_like_one_from_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAPA_FAQ_CACHE", str(tmp_path))
    built = Lexicon._build_default()  # writes the cache
    assert warm.load() is not None
    cached = Lexicon._build_default()  # reads it
    assert cached.words == built.words and cached.slang == built.slang
    assert cached.analyzer.weighted_terms(SAMPLE) == built.analyzer.weighted_terms(SAMPLE)
    assert cached.analyzer.weak_terms == built.analyzer.weak_terms
    assert cached.analyzer.weighted_terms(SAMPLE) == Lexicon.default().analyzer.weighted_terms(
        SAMPLE
    )


def test_data_files_are_read_fresh_whatever_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing derived from faq/data is cached: the shop lists always come from the files.
    monkeypatch.setenv("SAPA_FAQ_CACHE", str(tmp_path))
    Lexicon._build_default()
    lexicon = Lexicon._build_default()
    assert lexicon.stems == Lexicon.from_files(*sorted(DATA_DIR.iterdir())).stems
