"""The Results page (`/results`, behind the admin password): a study's Table 1 beside the
thesis's and the objective one, charts, tests, reliability, screening, the planner, the
listeners' comments and the downloads.

Every number comes from `drumeval.analysis` (the same calls as `drumeval study table1|export`,
so page, terminal and files agree); this module lays out widgets and caches. Analyses are
cached with `st.cache_data` keyed by the database, the study, its number of ratings (a new
rating invalidates them) and the filters. With no study, or on request, the page shows a
seeded simulated study, labelled as such on every view, so it is never empty.
"""

from dataclasses import dataclass

import altair as alt
import pandas as pd
import streamlit as st

from drumeval.analysis import (
    achieved_precision,
    breakdown,
    compare_corpus_sizes,
    compare_models,
    detectable_effect,
    format_table1,
    genre_confusion,
    headline_fit,
    participants_needed,
    reliability,
    simulate_study,
    table1_long,
)
from drumeval.analysis import export as exporter
from drumeval.analysis.bootstrap import DEFAULT_RESAMPLES
from drumeval.analysis.from_db import (
    StudyData,
    StudyTables,
    filter_rows,
    filter_tables,
    load_study,
    rating_count,
)
from drumeval.analysis.inference import COMPARISON_COLUMNS
from drumeval.analysis.schema import (
    CRITERION_LABELS,
    GENRE_DISCRIMINATION,
    MODEL_LABELS,
    MODELS,
    SCORE_CRITERIA,
    TABLE1_CRITERIA,
)
from drumeval.analysis.screening import drop_flagged
from drumeval.analysis.table1 import GENRE_ACCURACY_CUTOFFS, SCORE_SYMBOL_CUTOFFS
from drumeval.errors import DrumevalError
from drumeval.study import setup
from drumeval.study.database import database_label
from ui.objective import OBJECTIVE_CAPTION, OBJECTIVE_TABLE, objective_tables

DEMO = "Simulated demo results"
DEMO_KEY = "simulated-demo"
DEMO_SEED = 2024
SEED = 0
DEMO_NOTICE = (
    "**Simulated demo results** — not real listeners. A seeded simulated study (24 "
    "listeners, 15 % of them careless) drawn to reproduce the thesis's Table 1, so that "
    "every view of this page can be seen before a study has ratings."
)


@dataclass(frozen=True)
class Source:
    """What the page analyses: a study in the database (`slug`) or the simulated demo."""

    key: str  # cache key: database + slug + number of ratings, or the demo's
    data: StudyData
    is_simulated: bool


@dataclass(frozen=True)
class Filters:
    genres: tuple[str, ...] | None  # None = every genre
    corpus_sizes: tuple[int, ...] | None  # None = every corpus size
    screened: bool


# --- cached data and analyses ------------------------------------------------------------


@st.cache_data(show_spinner=False)
def _demo_data() -> StudyData:
    simulated = simulate_study(24, 2, seed=DEMO_SEED, careless_share=0.15)
    return StudyData.from_tables(simulated, slug=DEMO_KEY, title=DEMO)


@st.cache_data(show_spinner="Reading the ratings…", max_entries=8)
def _study_data(database: str, slug: str, ratings: int, _engine) -> StudyData:
    return load_study(_engine, slug)


@st.cache_data(show_spinner=False, max_entries=32)
def _tables(key: str, filters: Filters, _data: StudyData) -> StudyTables:
    tables = _data.analysed(screened=filters.screened)
    return filter_tables(tables, genres=filters.genres, corpus_sizes=filters.corpus_sizes)


@st.cache_data(show_spinner="Bootstrapping Table 1…", max_entries=32)
def _table1(key: str, filters: Filters, _data: StudyData) -> tuple[pd.DataFrame, pd.DataFrame]:
    wide = exporter.study_table1(
        _data,
        screened=filters.screened,
        genres=filters.genres,
        corpus_sizes=filters.corpus_sizes,
        seed=SEED,
    )
    ratings, answers, _ = _tables(key, filters, _data)
    long = table1_long(ratings, answers, seed=SEED, n_resamples=DEFAULT_RESAMPLES)
    return wide, long


@st.cache_data(show_spinner="Running the tests…", max_entries=32)
def _tests(key: str, filters: Filters, _data: StudyData) -> dict[str, pd.DataFrame]:
    ratings, answers, _ = _tables(key, filters, _data)
    results: dict[str, pd.DataFrame] = {}
    models = set(ratings["model"])
    if set(MODELS) <= models:
        results["models"] = compare_models(ratings, answers)
    sizes = set(ratings.loc[ratings["model"].isin(MODELS), "corpus_size"].dropna())
    if {700, 1500} <= sizes:
        results["sizes"] = compare_corpus_sizes(ratings, answers)
    for by in ("genre", "corpus_size"):
        if ratings[by].notna().any():
            results[by] = breakdown(ratings, answers, by=by, seed=SEED, n_resamples=200)
    results["reliability"] = reliability(ratings)
    return results


@st.cache_data(show_spinner="Testing the contrasts…", max_entries=32)
def _contrasts(
    key: str, filters: Filters, pairs: tuple[tuple[str, str], ...], _data: StudyData
) -> pd.DataFrame:
    return exporter.study_contrasts(
        _data,
        contrasts=list(pairs),
        screened=filters.screened,
        genres=filters.genres,
        corpus_sizes=filters.corpus_sizes,
    )


@st.cache_data(show_spinner="Bootstrapping Table 1 per condition…", max_entries=16)
def _table1_by_condition(key: str, filters: Filters, _data: StudyData) -> pd.DataFrame:
    return exporter.study_table1(
        _data,
        screened=filters.screened,
        genres=filters.genres,
        corpus_sizes=filters.corpus_sizes,
        seed=SEED,
        by_condition=True,
    )


@st.cache_data(show_spinner="Fitting the mixed and ordinal models…", max_entries=16)
def _headline(key: str, filters: Filters, _data: StudyData) -> pd.DataFrame:
    ratings, _, _ = _tables(key, filters, _data)
    return headline_fit(ratings)


@st.cache_data(show_spinner="Preparing the file…", max_entries=32)
def _payload(key: str, table: str, fmt: str, _data: StudyData) -> bytes:
    """The bytes of `drumeval study export --table TABLE --format FMT` (default seed and
    resamples), of the whole study: downloads ignore the page's filters."""
    return exporter.to_bytes(exporter.export_table(_data, table, seed=SEED), fmt)


# --- the page ----------------------------------------------------------------------------


def _choose_source(engine_factory) -> Source:
    engine = engine_factory()
    titles = {study.slug: study.title for study in setup.list_summaries(engine)}
    options = [DEMO_KEY, *reversed(list(titles))]
    choice = st.selectbox(
        "Study",
        options,
        index=1 if titles else 0,
        key="results:study",
        format_func=lambda slug: DEMO if slug == DEMO_KEY else f"{titles[slug]} ({slug})",
    )
    if choice == DEMO_KEY:
        return Source(f"demo-{DEMO_SEED}", _demo_data(), is_simulated=True)
    database = database_label(engine)
    count = rating_count(engine, choice)
    data = _study_data(database, choice, count, engine)
    return Source(f"{database}|{choice}|{count}", data, is_simulated=False)


def _choose_filters(data: StudyData) -> Filters:
    ratings = data.tables.ratings
    genres = sorted(ratings["genre"].dropna().unique())
    sizes = sorted(int(size) for size in ratings["corpus_size"].dropna().unique())
    left, middle, right = st.columns([2, 2, 1.4])
    chosen_genres = left.multiselect("Genre", genres, default=genres, key="results:genres")
    chosen_sizes = middle.multiselect("Corpus size", sizes, default=sizes, key="results:sizes")
    screened = right.toggle(
        "Post-screened only",
        key="results:screened",
        help="Leave out listeners who rated the hidden reference low or the anchor high, "
        "failed the headphone check or did not listen.",
    )
    return Filters(
        genres=None if set(chosen_genres) == set(genres) else tuple(chosen_genres),
        corpus_sizes=None if set(chosen_sizes) == set(sizes) else tuple(chosen_sizes),
        screened=screened,
    )


def results_view(engine_factory) -> None:
    """The whole page; `engine_factory()` gives the app's database engine."""
    st.title("Results")
    source = _choose_source(engine_factory)
    data = source.data
    if source.is_simulated:
        st.warning(DEMO_NOTICE, icon=":material/science:")
    if data.trial_type in TRIAL_SECTIONS:
        try:
            exporter.answers_of(data)
        except DrumevalError as error:
            st.info(str(error))
            return
        tabs = st.tabs([TRIAL_SECTIONS[data.trial_type], "Downloads"])
        with tabs[0]:
            try:
                (pairwise_section if data.trial_type == "pairwise" else mushra_section)(source)
            except DrumevalError as error:
                st.info(str(error))
        with tabs[1]:
            downloads_section(source)
        return
    try:
        exporter.require_ratings(data)
    except DrumevalError as error:
        st.info(f"{error}. Choose “{DEMO}” to see what this page will show.")
        return
    filters = _choose_filters(data)
    screening = data.screening()
    people, flagged = len(screening), int(screening["flagged"].sum())
    st.caption(
        f"{data.rows['participant_id'].nunique()} listeners rated {len(data.rows)} clips "
        f"({data.rows['clip_id'].nunique()} distinct); post-screening flags {flagged} of "
        f"{people} participants."
    )
    try:
        wide, long = _table1(source.key, filters, data)
    except DrumevalError as error:
        st.info(f"Nothing to analyse with these filters: {error}.")
        return
    tabs = st.tabs(
        [
            "Table 1",
            "Charts",
            "Genre",
            "Tests",
            "Reliability & screening",
            "Planner",
            "Comments",
            "Downloads",
        ]
    )
    tables = _tables(source.key, filters, data)
    sections = [
        lambda: table1_section(wide, source, filters),
        lambda: charts_section(long, tables.ratings, filters),
        lambda: genre_section(tables.genre_answers),
        lambda: tests_section(source, filters),
        lambda: reliability_section(source, filters, screening),
        lambda: planner_section(wide),
        lambda: comments_section(data, filters),
        lambda: downloads_section(source),
    ]
    for tab, section in zip(tabs, sections, strict=True):
        with tab:
            try:
                section()
            except DrumevalError as error:  # e.g. too few ratings for a test: say so, go on
                st.info(str(error))


TRIAL_SECTIONS = {"pairwise": "Leaderboard", "mushra": "MUSHRA summary"}
MIN_VOTES_DEFAULT = 50


@st.cache_data(show_spinner="Bootstrapping the Bradley–Terry scores…", max_entries=16)
def _leaderboard(key: str, min_votes: int, _data: StudyData) -> pd.DataFrame:
    from drumeval.analysis.pairwise import leaderboard

    return leaderboard(exporter.answers_of(_data), min_votes=min_votes, seed=SEED)


def pairwise_section(source: Source) -> None:
    """Bradley–Terry leaderboard with 95 % CIs, and the win-rate matrix."""
    from drumeval.analysis.pairwise import win_rate_matrix

    votes = exporter.answers_of(source.data)
    st.caption(
        f"{votes['participant_id'].nunique()} listeners gave {len(votes)} votes "
        f"({int((votes['outcome'] == 'both_bad').sum())} “both bad”, not ranked)."
    )
    min_votes = st.number_input(
        "Votes before a condition is ranked",
        min_value=0,
        value=MIN_VOTES_DEFAULT,
        step=10,
        key="results:min-votes",
    )
    board = _leaderboard(source.key, int(min_votes), source.data)
    st.dataframe(
        board,
        hide_index=True,
        column_config={
            "score": st.column_config.NumberColumn("score", format="%.0f"),
            "ci_low": st.column_config.NumberColumn("95 % CI low", format="%.0f"),
            "ci_high": st.column_config.NumberColumn("95 % CI high", format="%.0f"),
            "win_probability": st.column_config.NumberColumn("P(win vs avg)", format="%.2f"),
        },
    )
    st.caption(
        "Bradley–Terry scores on the Elo scale (mean 1000; 400 points = 10:1 odds), ties as "
        "half a win, 95 % CIs from a bootstrap over listeners, sorted by the lower bound. "
        f"Terminal: `drumeval study leaderboard {source.data.slug}`."
    )
    st.markdown("**Win rate** (row beat column; ties as ½)")
    st.dataframe(win_rate_matrix(votes).style.format("{:.2f}", na_rep="—"))


def mushra_section(source: Source) -> None:
    """Post-screening and the per-condition means of a multi-stimulus study."""
    from drumeval.analysis.mushra import analyse_mushra

    analysis = analyse_mushra(exporter.answers_of(source.data))
    excluded = int(analysis.screening["excluded"].sum())
    st.caption(
        f"ITU-R BS.1534 post-screening excludes {excluded} of {len(analysis.screening)} "
        "listeners (hidden reference below 90 on more than 15 % of pages). Terminal: "
        f"`drumeval study mushra {source.data.slug}`."
    )
    st.dataframe(analysis.means, hide_index=True)
    if not analysis.comparisons.empty:
        st.markdown("**Pairwise comparisons** (Wilcoxon, Holm-corrected)")
        st.dataframe(analysis.comparisons, hide_index=True)


def _label(model: str) -> str:
    return MODEL_LABELS.get(model, model)


def table1_section(wide: pd.DataFrame, source: Source, filters: Filters) -> None:
    st.subheader("Table 1: the listeners' verdict beside the thesis's")
    if source.is_simulated:
        st.caption("Simulated demo results.")
    if st.toggle(
        "A column per condition",
        key="results:by-condition",
        help="Each of the study's conditions on its own (not pooled per model), the thesis's "
        "verdict beside each condition of DrumsRNN or MusicVAE.",
    ):
        st.dataframe(format_table1(_table1_by_condition(source.key, filters, source.data)))
        st.caption(f"The same table: `drumeval study table1 {source.data.slug} --by-condition`.")
        return
    st.dataframe(format_table1(wide))
    command = _table1_command(source.data.slug, filters)
    st.caption(
        f"Per model: symbol, mean and 95 % CI (bootstrap over listeners and clips, "
        f"{DEFAULT_RESAMPLES} resamples, seed {SEED}); thesis symbol with ✓ where the study "
        f"agrees. Score cut-offs {SCORE_SYMBOL_CUTOFFS} on the −2…+2 scale; genre accuracy "
        f"cut-offs {GENRE_ACCURACY_CUTOFFS}. The same table: `{command}`."
    )
    left, right, _ = st.columns([1, 1, 4])
    for column, (label, fmt, text) in zip(
        (left, right),
        (
            ("Markdown", "md", exporter.table1_markdown(wide)),
            ("LaTeX", "tex", exporter.table1_latex(wide)),
        ),
        strict=True,
    ):
        column.download_button(
            label,
            data=text,
            file_name=exporter.table1_download_name(
                source.data.slug,
                fmt,
                screened=filters.screened,
                genres=filters.genres,
                corpus_sizes=filters.corpus_sizes,
            ),
            mime="text/markdown" if fmt == "md" else "application/x-tex",
            key=f"results:table1:{fmt}",
            on_click="ignore",
            help="This table as shown, with the filters above "
            f"(`{command} --{'markdown' if fmt == 'md' else 'latex'}`).",
        )
    objective, _ = objective_tables()
    st.subheader("Objective Table 1")
    if objective is None:
        st.info(
            "No objective table yet: `python -m drumeval.analysis.objective_run "
            f"--out {OBJECTIVE_TABLE.name}` makes it."
        )
        return
    st.dataframe(objective, hide_index=True)
    st.caption(OBJECTIVE_CAPTION)


def _table1_command(slug: str, filters: Filters) -> str:
    """The `drumeval study table1` command line that prints the table these filters show."""
    options = [f"--genre {genre}" for genre in filters.genres or ()]
    options += [f"--corpus-size {size}" for size in filters.corpus_sizes or ()]
    if filters.screened:
        options.append("--screened")
    return " ".join(["drumeval study table1", slug, *options])


def charts_section(long: pd.DataFrame, ratings: pd.DataFrame, filters: Filters) -> None:
    cells = long[long["n_ratings"] > 0].assign(
        criterion_label=lambda frame: frame["criterion"].map(CRITERION_LABELS),
        model_label=lambda frame: frame["model"].map(_label),
    )
    order = [_label(model) for model in dict.fromkeys(cells["model"])]
    scores = cells[cells["criterion"] != GENRE_DISCRIMINATION]
    st.subheader("Mean score per criterion (95 % CI)")
    st.altair_chart(_means_chart(scores, order, (-2, 2), "mean score"))
    genre = cells[cells["criterion"] == GENRE_DISCRIMINATION]
    st.subheader("Genre named correctly (95 % CI)")
    st.altair_chart(_means_chart(genre, order, (0, 1), "accuracy"))
    st.subheader("Rating distributions")
    counts = ratings.groupby(["criterion", "model", "score"]).size().rename("n").reset_index()
    counts = counts.assign(
        criterion_label=counts["criterion"].map(CRITERION_LABELS),
        model_label=counts["model"].map(_label),
    )
    chart = (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("n:Q", stack="normalize", title="share of ratings", axis=alt.Axis(format="%")),
            y=alt.Y("model_label:N", title=None, sort=order),
            color=alt.Color(
                "score:O",
                scale=alt.Scale(domain=[-2, -1, 0, 1, 2], scheme="redblue"),
                title="score",
            ),
            row=alt.Row(
                "criterion_label:N",
                title=None,
                sort=[CRITERION_LABELS[criterion] for criterion in SCORE_CRITERIA],
            ),
            tooltip=["model_label:N", "criterion_label:N", "score:O", "n:Q"],
        )
        .properties(height=110)
    )
    st.altair_chart(chart)
    _, curves = objective_tables()
    st.subheader("Self-similarity by bar distance (objective)")
    if curves is None:
        st.info("No self-similarity curves yet: `objective_run --curves-out` makes them.")
        return
    if filters.genres is not None:
        curves = curves[curves["genre"].isin(filters.genres)]
    if filters.corpus_sizes is not None:
        curves = curves[curves["corpus_size"].isin(filters.corpus_sizes)]
    sizes = curves["corpus_size"].astype("Int64").astype(str)  # "700", not "700.0"
    curves = curves.assign(series=curves["model"] + " · " + sizes)
    lines = (
        alt.Chart(curves)
        .mark_line(point=True)
        .encode(
            x=alt.X("lag:Q", title="distance (bars)"),
            y=alt.Y("similarity:Q", title="similarity"),
            color=alt.Color("series:N", title="model · corpus size"),
            column=alt.Column("genre:N", title=None),
            tooltip=["series:N", "lag:Q", alt.Tooltip("similarity:Q", format=".3f")],
        )
        .properties(width=260, height=220)
    )
    st.altair_chart(lines)
    st.caption("Mean over the objective table's samples; `corpus` lines are the held-out corpora.")


def _means_chart(cells: pd.DataFrame, order: list[str], domain, title: str) -> alt.FacetChart:
    base = alt.Chart().encode(
        x=alt.X("model_label:N", title=None, sort=order),
        color=alt.Color("model_label:N", legend=None, sort=order),
    )
    points = base.mark_point(filled=True, size=90).encode(
        y=alt.Y("mean:Q", title=title, scale=alt.Scale(domain=list(domain))),
        tooltip=[
            alt.Tooltip("model_label:N", title="model"),
            alt.Tooltip("mean:Q", format=".2f"),
            alt.Tooltip("ci_low:Q", format=".2f"),
            alt.Tooltip("ci_high:Q", format=".2f"),
            alt.Tooltip("n_participants:Q", title="listeners"),
        ],
    )
    bars = base.mark_rule(strokeWidth=2).encode(y="ci_low:Q", y2="ci_high:Q")
    sort = [CRITERION_LABELS[criterion] for criterion in TABLE1_CRITERIA]
    return (
        alt.layer(bars, points, data=cells)
        .properties(width=140, height=220)
        .facet(column=alt.Column("criterion_label:N", title=None, sort=sort))
    )


def genre_section(answers: pd.DataFrame) -> None:
    st.subheader("Genre confusion: true genre (rows) × answer (columns)")
    st.caption(
        "The true genre is that of the corpus the clip's model was trained on; shares of "
        "each row's answers."
    )
    models = list(dict.fromkeys(answers["model"]))
    columns = st.columns(2)
    for index, model in enumerate(sorted(models, key=lambda m: (m not in MODELS, m))):
        with columns[index % 2]:
            st.markdown(f"**{_label(model)}**")
            shares = genre_confusion(answers, model=model, normalize=True)
            st.dataframe(shares.style.format("{:.0%}", na_rep="–"))


def _significance(table: pd.DataFrame) -> pd.DataFrame:
    """A comparison table without its constant columns, criteria in words."""
    shown = table.assign(criterion=table["criterion"].map(CRITERION_LABELS))
    columns = [column for column in COMPARISON_COLUMNS if column not in ("factor", "n_dropped")]
    return shown[[column for column in columns if shown[column].notna().any()]]


def tests_section(source: Source, filters: Filters) -> None:
    results = _tests(source.key, filters, source.data)
    st.subheader("DrumsRNN vs MusicVAE")
    if "models" in results:
        st.dataframe(_significance(results["models"]), hide_index=True)
        st.caption(
            "Wilcoxon signed-rank on per-listener means when listeners heard both models, "
            "Mann–Whitney U otherwise; effect size = rank-biserial r (> 0: MusicVAE higher); "
            "p Holm-corrected over the criteria."
        )
        headline = _headline(source.key, filters, source.data)
        st.markdown("**Headline model** (mixed model with listener and clip effects)")
        st.dataframe(headline, hide_index=True)
    else:
        st.info("Both DrumsRNN and MusicVAE need ratings (check the filters).")
    st.subheader("Corpus size: 700 vs 1500")
    if "sizes" in results:
        st.dataframe(_significance(results["sizes"]), hide_index=True)
    else:
        st.info("Both corpus sizes need ratings (check the filters).")
    for by, title in (("genre", "By genre"), ("corpus_size", "By corpus size")):
        if by in results:
            st.subheader(title)
            cells = results[by].assign(
                criterion=results[by]["criterion"].map(CRITERION_LABELS),
                **({by: results[by][by].astype("Int64")} if by == "corpus_size" else {}),
                cell=lambda frame: (
                    frame["symbol"] + " " + frame["mean"].map(lambda mean: f"{mean:+.2f}")
                ),
            )
            pivot = cells.pivot_table(
                index="criterion", columns=[by, "model"], values="cell", aggfunc="first"
            )
            st.dataframe(pivot)
    st.caption("Breakdowns use 200 bootstrap resamples; Table 1 uses the full number.")
    contrasts_section(source, filters)


def contrasts_section(source: Source, filters: Filters) -> None:
    """Any condition of the study against any (`drumeval study compare`)."""
    import itertools

    st.subheader("Any two conditions")
    levels = exporter.study_conditions(source.data)
    own = [level for level in levels if level not in ("reference", "anchor")]
    pairs = [f"{a} : {b}" for a, b in itertools.combinations(levels, 2)]
    default = [f"{a} : {b}" for a, b in itertools.combinations(own, 2)]
    chosen = st.multiselect(
        "Contrasts (B against A)", pairs, default=default, key="results:contrasts"
    )
    if not chosen:
        st.info("Choose at least one contrast.")
        return
    chosen_pairs = tuple(tuple(text.split(" : ")) for text in chosen)
    table = _contrasts(source.key, filters, chosen_pairs, source.data)
    st.dataframe(_significance(table), hide_index=True)
    flags = " ".join(f"--contrast '{a}:{b}'" for a, b in chosen_pairs)
    st.caption(
        "Per criterion, Wilcoxon (same listeners heard both) or Mann–Whitney U on per-listener "
        f"means; p Holm-corrected over every row. The same: `drumeval study compare "
        f"{source.data.slug} {flags}`."
    )


def reliability_section(source: Source, filters: Filters, screening: pd.DataFrame) -> None:
    results = _tests(source.key, filters, source.data)
    st.subheader("Inter-rater reliability")
    st.dataframe(results["reliability"], hide_index=True)
    st.caption(
        "Krippendorff's α (ordinal) over all ratings; ICC(A,1) and ICC(A,k) on the clips every "
        "listener rated."
    )
    st.subheader("Post-screening")
    counts = screening.loc[screening["flagged"], "reasons"].str.split(", ").explode()
    if counts.empty:
        st.success("No participant is flagged.")
    else:
        st.markdown(" · ".join(f"{reason}: **{n}**" for reason, n in counts.value_counts().items()))
    st.dataframe(screening, hide_index=True)
    st.caption(
        "Flagged: mean score of the hidden reference below 0, of the low anchor above 0, "
        f"a failed headphone check, or under {source.data.min_listened_seconds:g} s played "
        "per clip (median). The toggle “Post-screened only” leaves them out."
    )


def planner_section(wide: pd.DataFrame) -> None:
    st.subheader("Plan a study's size")
    left, right = st.columns(2)
    with left:
        effect = st.number_input(
            "Effect size (Cohen's d)", 0.05, 3.0, 0.5, 0.05, key="results:plan:d"
        )
        power = st.number_input("Power", 0.5, 0.99, 0.8, 0.05, key="results:plan:power")
        alpha = st.number_input("α (two-sided)", 0.001, 0.2, 0.05, 0.005, key="results:plan:alpha")
        design = st.radio(
            "Design", ["paired", "independent"], horizontal=True, key="results:plan:design"
        )
    listeners = int(wide.xs("n_participants", axis=1, level="field").max().max())
    per = " per group" if design == "independent" else ""
    with right:
        try:
            needed = participants_needed(effect, power, alpha, design)
            st.metric(f"Participants needed{per}", needed)
            size = st.number_input(
                "Participants", 3, 10_000, max(listeners, 3), key="results:plan:n"
            )
            st.metric(
                f"Smallest detectable d with {size}{per}",
                f"{detectable_effect(int(size), power, alpha, design):.2f}",
            )
        except DrumevalError as error:
            st.error(str(error))
    st.caption(
        "Two-sided t-test approximation (pingouin); `drumeval study plan --simulate` checks it "
        "by simulating ordinal ratings."
    )
    st.subheader("Achieved precision of this study")
    precision = achieved_precision(wide)
    precision = precision.assign(criterion=precision["criterion"].map(CRITERION_LABELS))
    st.dataframe(precision, hide_index=True)
    st.caption("Half-width of each 95 % CI (score points; accuracy for genre discrimination).")


def comments_section(data: StudyData, filters: Filters) -> None:
    st.subheader("Listeners' comments")
    rows = filter_rows(
        data.rows[data.rows["comment"].notna()],
        genres=filters.genres,
        corpus_sizes=filters.corpus_sizes,
    )
    if filters.screened:
        rows = drop_flagged(rows, data.screening())
    if rows.empty:
        st.info("No comments.")
        return
    # A dataframe cell shows text as typed: never rendered as Markdown or HTML.
    columns = ["participant_id", "model", "condition", "genre", "comment"]
    st.dataframe(rows[columns], hide_index=True)


def downloads_section(source: Source) -> None:
    st.subheader("Downloads (whole study)")
    if source.is_simulated:
        st.caption("Simulated demo results.")
    captions = {
        "ratings": "one row per rating, conditions resolved",
        "participants": "status, headphone check, questionnaire",
        "summary": "Table 1 with and without post-screening",
        "stimuli": "every clip the study plays: condition, role, content hashes",
        "votes": "one row per pairwise vote: conditions A and B, outcome",
        "scores": "one row per score: condition, role, 0–100",
    }
    tables = exporter.TABLES_OF_TRIAL_TYPE[source.data.trial_type]
    table = st.radio(
        "Table",
        tables,
        horizontal=True,
        key="results:export:table",
        captions=[captions[name] for name in tables],
    )
    columns = st.columns(len(exporter.EXPORT_FORMATS))
    for column, fmt in zip(columns, exporter.EXPORT_FORMATS, strict=True):
        column.download_button(
            fmt.upper(),
            data=_payload(source.key, table, fmt, source.data),
            file_name=exporter.download_name(source.data.slug, table, fmt),
            mime=exporter.MIME_TYPES[fmt],
            key=f"results:download:{fmt}",
            on_click="ignore",
        )
    st.caption(
        "The same bytes as `drumeval study export SLUG --table TABLE --format FORMAT`: raw "
        "data of the whole study, so the filters do not apply. Table 1 as filtered on this "
        "page: its Markdown and LaTeX buttons on the Table 1 tab."
    )
