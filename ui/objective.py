"""The objective Table 1 shipped with drumeval (`data/tables/objective_table1.csv`, made by
`drumeval objective-table`): read and shown without importing the statistics stack, so that
the About page stays light."""

from pathlib import Path

import pandas as pd
import streamlit as st

from drumeval.paths import objective_table_path, self_similarity_curves_path

OBJECTIVE_TABLE = objective_table_path()
SELF_SIMILARITY = self_similarity_curves_path()


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
# column → (short heading, what it measures) for the About page's narrow table
CRITERIA_COLUMNS = {
    "short_term_phrasing": ("short-term", "Short-term phrasing: bar-to-bar similarity"),
    "long_term_phrasing": ("long-term", "Long-term phrasing: section changes on the 4-bar grid"),
    "originality": ("originality", "1 − share of 4-bar windows copied from the training split"),
    "genre_discrimination": ("genre", "Genre discrimination: genre classifier accuracy"),
    "realism": ("realism ↓", "Realism: groove distance to the corpus (lower is closer)"),
}


def show_objective_criteria() -> None:
    """The objective Table 1's five thesis criteria, per model, genre and corpus size: public
    figures of the shipped checkpoints (no ratings), for the About page."""
    objective, _ = objective_tables()
    if objective is None:
        st.info("No objective table shipped with this copy of drumeval.")
        return
    table = objective[["model", "genre", "corpus_size", *CRITERIA_COLUMNS]]
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "corpus_size": st.column_config.NumberColumn("files", help="Training corpus size"),
            **{
                column: st.column_config.NumberColumn(heading, help=meaning, format="%.2f")
                for column, (heading, meaning) in CRITERIA_COLUMNS.items()
            },
        },
    )
    st.caption(OBJECTIVE_CAPTION)
