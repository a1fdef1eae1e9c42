"""Cached loaders shared by the pages: heavy objects load once per server process."""

import numpy as np
import streamlit as st

from drumeval.data.corpus import CORPUS_NAMES, load_corpus
from drumeval.errors import DrumevalError

GENRES = ("techno-house", "jazz-soul")
MODEL_LABELS = {"drums_rnn": "DrumsRNN (LSTM + attention)", "music_vae": "MusicVAE (recurrent VAE)"}


@st.cache_data(show_spinner=False)
def corpus_arrays(name: str) -> dict | None:
    """A corpus as plain arrays (cache-friendly), or None when it is not built."""
    try:
        corpus = load_corpus(name)
    except DrumevalError:
        return None
    return {
        "event_ids": corpus.event_ids,
        "lengths": corpus.lengths,
        "is_eval": corpus.is_eval,
        "manifest": corpus.manifest,
    }


def available_corpora() -> list[str]:
    return [name for name in CORPUS_NAMES if corpus_arrays(name) is not None]


def figure_to_png(figure) -> bytes:
    """Render a matplotlib figure to PNG bytes and free it."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def event_ids_key(event_ids: np.ndarray) -> bytes:
    return np.asarray(event_ids, dtype=np.int16).tobytes()
