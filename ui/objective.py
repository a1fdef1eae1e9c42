"""The objective Table 1 shipped with drumeval (`drumeval/analysis/objective_table1.csv`,
made by `python -m drumeval.analysis.objective_run`): read and shown without importing the
statistics stack, so that the About page stays light."""

from pathlib import Path

import pandas as pd
import streamlit as st

ANALYSIS_DIR = Path(__file__).resolve().parents[1] / "drumeval" / "analysis"
OBJECTIVE_TABLE = ANALYSIS_DIR / "objective_table1.csv"
SELF_SIMILARITY = ANALYSIS_DIR / "self_similarity_curves.csv"


@st.cache_data(show_spinner=False)
def objective_tables() -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    def read(path: Path) -> pd.DataFrame | None:
        return pd.read_csv(path) if path.is_file() else None

    return read(OBJECTIVE_TABLE), read(SELF_SIMILARITY)


OBJECTIVE_CAPTION = (
    "Measured on 8 seeded 60-bar samples of every shipped checkpoint and on each corpus's "
    "held-out split (`corpus` rows, the human reference). Short-term phrasing: bar-to-bar "
    "similarity; long-term phrasing: share of section changes on the 4-bar grid; "
    "originality: 1 − share of 4-bar windows copied from the training split; genre "
    "discrimination: genre classifier accuracy; realism: groove distance to the corpus "
    "(lower is closer)."
)
CRITERIA_COLUMNS = [
    "short_term_phrasing",
    "long_term_phrasing",
    "originality",
    "genre_discrimination",
    "realism",
]


def show_objective_criteria() -> None:
    """The objective Table 1's five thesis criteria, per model, genre and corpus size: public
    figures of the shipped checkpoints (no ratings), for the About page."""
    objective, _ = objective_tables()
    if objective is None:
        st.info("No objective table shipped with this copy of drumeval.")
        return
    table = objective[["model", "genre", "corpus_size", *CRITERIA_COLUMNS]]
    st.dataframe(
        table.rename(columns=lambda name: name.replace("_", " ")),
        hide_index=True,
        column_config={
            name.replace("_", " "): st.column_config.NumberColumn(format="%.2f")
            for name in CRITERIA_COLUMNS
        },
    )
    st.caption(OBJECTIVE_CAPTION)
