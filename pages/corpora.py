"""The training corpora: what each model learned from, in numbers and pictures."""

import numpy as np
import pandas as pd
import streamlit as st

from drumeval import metrics
from drumeval.data.drum_classes import DRUM_CLASS_NAMES
from drumeval.data.stats import summarize
from pages.common import available_corpora, corpus_arrays, figure_to_png

st.title("Training corpora")
st.markdown(
    "Two genres × two sizes, as in the thesis. **jazz-soul** comes from the Groove MIDI "
    "Dataset (real drummers, CC BY 4.0); **techno-house** is a seeded, rule-based programmed "
    "corpus standing in for the unreachable Lakh MIDI techno set. Rebuild them with "
    "`drumeval data build`."
)

names = available_corpora()
if not names:
    st.warning("No corpus is built yet. Run `drumeval data build` (make run does it for you).")
    st.stop()


@st.cache_data(show_spinner="Computing corpus statistics…")
def corpus_statistics(name: str) -> dict:
    arrays = corpus_arrays(name)
    event_ids, lengths = arrays["event_ids"], arrays["lengths"]
    stats = summarize(event_ids, lengths, arrays["is_eval"])
    tracks = (row[:length] for row, length in zip(event_ids, lengths, strict=True))
    consistency = [metrics.groove_consistency(track) for track in tracks]
    return {
        "examples": stats.examples,
        "train": stats.train,
        "eval": stats.eval,
        "bars per example": stats.mean_bars_per_example,
        "hits per bar": stats.hits_per_bar,
        "kick on beat": stats.kick_on_beat_share,
        "groove consistency": float(np.mean(consistency)),
        "class shares": np.array(stats.class_shares),
    }


stats = {name: corpus_statistics(name) for name in names}
summary = pd.DataFrame(
    {
        name: {k: v for k, v in values.items() if k != "class shares"}
        for name, values in stats.items()
    }
).T
st.dataframe(summary.style.format(precision=2), use_container_width=True)

st.subheader("Share of hits per drum class")
shares = pd.DataFrame(
    {name: values["class shares"] for name, values in stats.items()}, index=list(DRUM_CLASS_NAMES)
)
st.bar_chart(shares, stack=False)

st.subheader("Look at one example")
chosen = st.selectbox("Corpus", names)
arrays = corpus_arrays(chosen)
index = st.number_input("Example", min_value=0, max_value=len(arrays["lengths"]) - 1, value=0)
example = arrays["event_ids"][index][: arrays["lengths"][index]]
from drumeval.plots import density_figure, drum_grid_figure  # noqa: E402  (matplotlib is slow)

st.image(figure_to_png(drum_grid_figure(example, title=f"{chosen} #{index}")))
st.image(figure_to_png(density_figure(example)))
