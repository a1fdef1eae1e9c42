"""About drumeval: what it does and the thesis verdict it re-examines."""

import streamlit as st

from ui.objective import show_objective_criteria

st.title("drumeval")
st.markdown(
    """
Generate **evolving 2-minute drum tracks** (60 bars, 16th-note grid, 9 drum classes, 4/4) with
faithful Keras 3 ports of Magenta's **DrumsRNN** (LSTM + attention) and **MusicVAE** (recurrent
VAE), listen to them, and rate them in **blind listening studies**: listeners never learn which
model made a clip.

A 2023 thesis compared the two models by one listener's ear. drumeval rebuilds its verdict from
many listeners' ratings, with confidence intervals, and adds objective metrics:
"""
)
st.dataframe(
    {
        "criterion": [
            "Short-term phrasing",
            "Long-term phrasing",
            "Originality",
            "Genre discrimination",
            "Realism",
        ],
        "DrumsRNN": ["+", "−", "−", "− −", "+"],
        "MusicVAE": ["+ +", "−", "+ +", "+", "+ +"],
    },
    hide_index=True,
)
st.caption(
    "Table 1 of the thesis (the author's judgement). A study's Results page rebuilds it from "
    "its listeners' ratings (researchers only, behind the admin password)."
)
with st.expander("The same five criteria, measured on the shipped models"):
    show_objective_criteria()
st.page_link("pages/generate.py", label="Generate and listen to a track", icon=":material/tune:")
st.page_link(
    "pages/corpora.py", label="Explore the training corpora", icon=":material/library_music:"
)
st.page_link(
    "pages/study.py",
    label="Take the demo study (a few clips, a few minutes)",
    icon=":material/headphones:",
    query_params={"s": "demo"},
)
st.page_link("pages/admin.py", label="Researcher pages", icon=":material/lab_profile:")
