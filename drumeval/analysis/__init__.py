"""Listening-study analysis: Table 1 rebuilt from ratings, model comparisons, reliability,
post-screening, simulated studies and study-size planning.

Pure functions over the tidy pandas tables described in `drumeval.analysis.schema`; the
database, pages and CLI export those tables and call these. scipy, statsmodels, pingouin and
krippendorff do the statistics (imported when first needed).
"""

from drumeval.analysis.inference import (
    breakdown,
    compare_conditions,
    compare_corpus_sizes,
    compare_models,
    headline_fit,
    reliability,
)
from drumeval.analysis.planning import (
    achieved_precision,
    detectable_effect,
    participants_needed,
    simulate_power,
)
from drumeval.analysis.schema import TABLE1_CRITERIA, observations
from drumeval.analysis.screening import (
    drop_flagged,
    screen_participants,
    table1_with_and_without_flagged,
)
from drumeval.analysis.simulate import simulate_study
from drumeval.analysis.table1 import (
    GENRE_ACCURACY_CUTOFFS,
    SCORE_SYMBOL_CUTOFFS,
    THESIS_TABLE1,
    format_table1,
    genre_confusion,
    rebuild_table1,
    table1_long,
)

__all__ = [
    "GENRE_ACCURACY_CUTOFFS",
    "SCORE_SYMBOL_CUTOFFS",
    "TABLE1_CRITERIA",
    "THESIS_TABLE1",
    "achieved_precision",
    "breakdown",
    "compare_conditions",
    "compare_corpus_sizes",
    "compare_models",
    "detectable_effect",
    "drop_flagged",
    "format_table1",
    "genre_confusion",
    "headline_fit",
    "observations",
    "participants_needed",
    "rebuild_table1",
    "reliability",
    "screen_participants",
    "simulate_power",
    "simulate_study",
    "table1_long",
    "table1_with_and_without_flagged",
]
