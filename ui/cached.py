"""Heavy things the pages share, made once per server process (Streamlit caches).

Models and clips are `cache_resource` (one object for every session, nothing pickled: a clip
holds megabytes of audio); pictures and corpus numbers are `cache_data`. Everything here calls
the library (`drumeval.clips`, `drumeval.registry`, `drumeval.plots`); no page imports model
or corpus code itself.
"""

import io
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import streamlit as st

from drumeval import clips, registry
from drumeval.errors import DrumevalError

MAX_CACHED_CLIPS = 64


@st.cache_data(show_spinner=False)
def shipped() -> list[tuple[str, str, str, int]]:
    """(model, preset, genre, corpus size) of every shipped checkpoint."""
    return [(c.model, c.preset, c.genre, c.corpus_size) for c in registry.shipped_checkpoints()]


@st.cache_resource(show_spinner=False)
def loaded_model(model: str, preset: str, genre: str, corpus_size: int) -> object:
    """Load a checkpoint once per server process (the first click pays, later ones do not)."""
    condition = clips.Condition(model, preset, genre, corpus_size, 1.0, clips.BARS_MAX, 0)
    return clips.load_model(clips.plan(condition))


class ClipCache:
    """A small LRU of finished clips keyed by their permalink, shared by all sessions."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.clips: OrderedDict[str, clips.Clip] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> clips.Clip | None:
        with self.lock:
            clip = self.clips.get(key)
            if clip is not None:
                self.clips.move_to_end(key)
            return clip

    def put(self, key: str, clip: clips.Clip) -> None:
        with self.lock:
            self.clips[key] = clip
            while len(self.clips) > self.max_entries:
                self.clips.popitem(last=False)


@st.cache_resource(show_spinner=False)
def clip_cache() -> ClipCache:
    return ClipCache(MAX_CACHED_CLIPS)


def clip_for(key: str, make: Callable[[], clips.Clip]) -> clips.Clip:
    """The cached clip for `key` (its permalink), or `make()` once."""
    cache = clip_cache()
    clip = cache.get(key)
    if clip is None:
        clip = make()
        cache.put(key, clip)
    return clip


def figure_to_png(figure, *, dpi: int = 110) -> bytes:
    """PNG bytes of a matplotlib Figure (made without pyplot, so nothing to close)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _ids(event_ids_bytes: bytes) -> np.ndarray:
    return np.frombuffer(event_ids_bytes, dtype=np.int32)


@st.cache_data(show_spinner=False, max_entries=128)
def phrase_grid_png(
    event_ids_bytes: bytes, title: str, sections: tuple[tuple[int, str], ...] = ()
) -> bytes:
    from drumeval.plots import phrase_grid_figure  # matplotlib loads on first use only

    figure = phrase_grid_figure(_ids(event_ids_bytes), title=title, sections=sections)
    return figure_to_png(figure)


@st.cache_data(show_spinner=False, max_entries=128)
def density_png(event_ids_bytes: bytes, title: str) -> bytes:
    from drumeval.plots import density_figure

    return figure_to_png(density_figure(_ids(event_ids_bytes), title=title))


@st.cache_data(show_spinner="Measuring the training corpus…")
def corpus_reference(corpus: str) -> dict[str, float]:
    return clips.corpus_reference(corpus)


@st.cache_data(show_spinner="Computing corpus statistics…")
def corpus_overview(corpus: str) -> clips.CorpusOverview | None:
    """A corpus's statistics, or None when it is not built."""
    try:
        return clips.corpus_overview(corpus)
    except DrumevalError:
        return None


@st.cache_data(show_spinner=False, max_entries=256)
def corpus_example(corpus: str, index: int) -> bytes:
    return clips.corpus_example(corpus, index).astype(np.int32).tobytes()
