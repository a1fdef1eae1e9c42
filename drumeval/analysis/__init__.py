"""Listening-study analysis: Table 1 rebuilt from ratings, model comparisons, reliability,
post-screening, simulated studies and study-size planning.

Pure functions over the tidy pandas tables described in `drumeval.analysis.schema`; the
database, pages and CLI export those tables and call these. scipy, statsmodels, pingouin and
krippendorff do the statistics (imported when first needed).

The names below are loaded on first use (PEP 562), so importing one light submodule (e.g.
`drumeval.analysis.bootstrap` for a CLI option's default) does not import pandas.
"""

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "inference": (
        "breakdown",
        "compare_conditions",
        "compare_corpus_sizes",
        "compare_models",
        "headline_fit",
        "reliability",
    ),
    "planning": (
        "achieved_precision",
        "detectable_effect",
        "participants_needed",
        "simulate_power",
    ),
    "schema": ("TABLE1_CRITERIA", "observations"),
    "screening": ("drop_flagged", "screen_participants", "table1_with_and_without_flagged"),
    "simulate": ("simulate_study",),
    "table1": (
        "GENRE_ACCURACY_CUTOFFS",
        "SCORE_SYMBOL_CUTOFFS",
        "THESIS_TABLE1",
        "format_table1",
        "genre_confusion",
        "rebuild_table1",
        "table1_long",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from drumeval.analysis.inference import (  # noqa: F401
        breakdown,
        compare_conditions,
        compare_corpus_sizes,
        compare_models,
        headline_fit,
        reliability,
    )
    from drumeval.analysis.planning import (  # noqa: F401
        achieved_precision,
        detectable_effect,
        participants_needed,
        simulate_power,
    )
    from drumeval.analysis.schema import TABLE1_CRITERIA, observations  # noqa: F401
    from drumeval.analysis.screening import (  # noqa: F401
        drop_flagged,
        screen_participants,
        table1_with_and_without_flagged,
    )
    from drumeval.analysis.simulate import simulate_study  # noqa: F401
    from drumeval.analysis.table1 import (  # noqa: F401
        GENRE_ACCURACY_CUTOFFS,
        SCORE_SYMBOL_CUTOFFS,
        THESIS_TABLE1,
        format_table1,
        genre_confusion,
        rebuild_table1,
        table1_long,
    )
