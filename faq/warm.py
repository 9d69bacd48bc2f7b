"""A cache on disk of the slow, pure part of building the default lexicon.

Building :meth:`faq.Lexicon.default` reads the English frequency list (a
gzipped JSON of ~80k words, sorted), the colloquial lexicon module, and runs
Sastrawi over every word of the stopword, slang and synonym lists (a few
hundred microseconds a word). That is ~1.5 s on an idle core and several
seconds on a busy one, paid by every process that answers FAQ questions —
every test that starts a server.

What is cached is only the output of pure functions of installed code:
the published word lists (:mod:`faq.resources`) and the per-word results of
``stem_word`` and ``stem_en`` (:mod:`faq.stemming`). The key is a hash of the versions of the
packages those come from and of the source of the modules that compute them,
so a new package version or a changed stemmer makes a new key and the old file
is ignored. The shop data files are *not* part of the key, because nothing
derived from them is cached: a word new to the data files simply misses the
stem cache and is stemmed as before.

The file is JSON (never pickle: it is read back from a user-writable
directory). Directory: ``$SAPA_FAQ_CACHE`` if set (empty, ``0`` or ``off``
disables the cache), else ``$XDG_CACHE_HOME/sapa-faq`` or
``~/.cache/sapa-faq``. Any failure to read or write it is silent apart from a
debug log line: the lexicon is then built from the sources, as without a cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

log = logging.getLogger(__name__)

FORMAT = 1
# Where the cached values come from: their versions are part of the key.
PACKAGES = ("indoNLP", "pyspellchecker", "PySastrawi", "snowballstemmer")
# Modules whose code computes the cached values: their source is part of the key.
SOURCES = ("resources.py", "stemming.py", "warm.py")
_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Warm:
    """The cached inputs of the default lexicon."""

    colloquial: dict[str, str]
    stopwords_id: frozenset[str]
    english_words: frozenset[str]
    stems: dict[str, tuple[str, bool]]  # stem_word(word) results
    en_stems: dict[str, str]  # stem_en(word) results


def cache_dir() -> Path | None:
    env = os.environ.get("SAPA_FAQ_CACHE")
    if env is not None:
        return None if env.strip() in ("", "0", "off") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sapa-faq"


def fingerprint() -> str:
    h = hashlib.sha256(f"format {FORMAT}\n".encode())
    for name in PACKAGES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "absent"
        h.update(f"{name} {version}\n".encode())
    for name in SOURCES:
        h.update((_HERE / name).read_bytes())
    return h.hexdigest()[:24]


def _path(directory: Path | None = None) -> Path | None:
    directory = directory if directory is not None else cache_dir()
    return None if directory is None else directory / f"lexicon-{fingerprint()}.json"


def load(directory: Path | None = None) -> Warm | None:
    """The cached values for the installed code, or None (absent, stale or unreadable)."""
    path = _path(directory)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Warm(
            {str(k): str(v) for k, v in data["colloquial"].items()},
            frozenset(map(str, data["stopwords_id"])),
            frozenset(map(str, data["english_words"])),
            {str(k): (str(s), bool(known)) for k, (s, known) in data["stems"].items()},
            {str(k): str(v) for k, v in data["en_stems"].items()},
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.debug("faq: lexicon cache %s unreadable (%s); building from sources", path, exc)
        return None


def save(warm: Warm, directory: Path | None = None) -> None:
    """Write the cache atomically (a reader sees the old file or the whole new one)."""
    path = _path(directory)
    if path is None:
        return
    data = {
        "colloquial": warm.colloquial,
        "stopwords_id": sorted(warm.stopwords_id),
        "english_words": sorted(warm.english_words),
        "stems": {k: list(v) for k, v in sorted(warm.stems.items())},
        "en_stems": dict(sorted(warm.en_stems.items())),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".lexicon-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.debug("faq: lexicon cache %s not written (%s)", path, exc)
