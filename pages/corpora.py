"""The training corpora: what each model learned from, in numbers and pictures."""

import pandas as pd
import streamlit as st

from drumeval.registry import CORPUS_NAMES
from ui import cached

st.title("Training corpora")
st.markdown(
    "Two genres × two sizes, as in the thesis. **jazz-soul** comes from the Groove MIDI "
    "Dataset (real drummers, CC BY 4.0); **techno-house** is a seeded, rule-based programmed "
    "corpus standing in for the unreachable Lakh MIDI techno set. Rebuild them with "
    "`drumeval data build`."
)

overviews = {name: cached.corpus_overview(name) for name in CORPUS_NAMES}
overviews = {name: overview for name, overview in overviews.items() if overview is not None}
if not overviews:
    st.warning("No corpus is built yet. Run `drumeval data build` (make run does it for you).")
    st.stop()

summary = pd.DataFrame(
    {
        name: {
            "examples": o.examples,
            "train": o.train,
            "eval": o.eval,
            "bars per example": o.bars_per_example,
            "hits per bar": o.hits_per_bar,
            "kick on beat": o.kick_on_beat,
            "groove consistency": o.groove_consistency,
        }
        for name, o in overviews.items()
    }
).T
st.dataframe(summary.style.format(precision=2))

st.subheader("Share of hits per drum class")
st.bar_chart(pd.DataFrame({name: o.class_shares for name, o in overviews.items()}), stack=False)

st.subheader("Look at one example")
chosen = st.selectbox("Corpus", list(overviews))
index = st.number_input("Example", min_value=0, max_value=overviews[chosen].examples - 1, value=0)
example = cached.corpus_example(chosen, int(index))
st.image(cached.phrase_grid_png(example, f"{chosen}, example {index}"))
st.image(cached.density_png(example, f"{chosen}, example {index}: hits per bar"))
