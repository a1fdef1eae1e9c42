"""The arena's view (`/arena`): a blind pair, the vote, then the reveal and the leaderboard.

Before the vote the page holds two unlabelled sides, A and B, whose audio comes from
content-addressed `/clips/<sha256>` URLs; contestant names appear only after the vote (the
reveal, then the leaderboard), so nothing on screen, in the DOM or in a URL names the model
of a side before the visitor has voted.
"""

import pandas as pd
import streamlit as st

from drumeval.errors import DrumevalError, RateLimitError
from drumeval.study import arena, flow
from ui.player import ab_player

TOKEN_KEY = "arena:token"  # this browser session's arena token (never in the URL)
REVEAL_KEY = "arena:reveal"  # the last vote's reveal, shown until "Next pair"
_OUTCOMES = (("a", "A is better"), ("b", "B is better"), ("tie", "Tie"), ("both_bad", "Both bad"))
_SAID = {"a": "A is better", "b": "B is better", "tie": "a tie", "both_bad": "both bad"}

INTRO = (
    "Two 30-second drum tracks of the same genre, from two different sources — one of the "
    "models, or a human drummer. Listen to both (switch between **A** and **B** at any "
    "moment: they play from the same position), then vote. After your vote you see who made "
    "which, and the leaderboard. No account: "
    f"only your votes are stored. At most {arena.VOTES_PER_MINUTE} votes a minute; runs of "
    "identical votes in quick succession are kept but not counted."
)


def visitor_token(engine, study: flow.StudyInfo) -> str:
    """This browser session's token, created on its first visit (a reload starts afresh)."""
    if TOKEN_KEY not in st.session_state:
        st.session_state[TOKEN_KEY] = arena.join(engine, study)
    return st.session_state[TOKEN_KEY]


def match_view(engine, study: flow.StudyInfo, token: str) -> None:
    """The pair on screen, its player and the four vote buttons (locked until both heard)."""
    page = arena.current_match(engine, study, token)
    st.subheader(f"Pair {page.number}")
    try:
        sources = tuple(stimulus.audio_url() for stimulus in page.stimuli)
    except DrumevalError as error:
        st.error(str(error), icon=":material/error:")
        return
    heard_ab, _ = ab_player(
        sources=(sources[0], sources[1]),
        token=str(page.number),
        min_seconds=page.stimuli[0].min_listen_seconds,
        key=f"arena:{page.number}",
        restored=(page.heard.get(0, 0.0), page.heard.get(1, 0.0)),
    )
    unlocked = not page.unheard(dict(enumerate(heard_ab)))
    chosen = [
        outcome
        for column, (outcome, label) in zip(st.columns(len(_OUTCOMES)), _OUTCOMES, strict=True)
        if column.button(
            label,
            key=f"arena-vote:{page.number}:{outcome}",
            type="primary" if outcome in ("a", "b") else "secondary",
            width="stretch",
            disabled=not unlocked,
        )
    ]
    if not unlocked:
        seconds = page.stimuli[0].min_listen_seconds
        st.caption(f"Listen to at least {seconds:g} s of both A and B to unlock the vote.")
    if not chosen:
        return
    try:
        reveal = arena.vote(
            engine,
            study,
            token,
            trial_id=page.trial_id,
            outcome=chosen[0],
            heard=dict(enumerate(heard_ab)),
        )
    except RateLimitError as error:
        st.warning(str(error), icon=":material/timer:")
        return
    except DrumevalError as error:
        st.error(str(error), icon=":material/error:")
        return
    st.session_state[REVEAL_KEY] = reveal
    st.rerun()


def reveal_view(reveal: arena.Reveal) -> None:
    st.subheader("Who made which")
    a, b = st.columns(2)
    a.metric("A", reveal.label_a)
    b.metric("B", reveal.label_b)
    st.markdown(f"You said: **{_SAID[reveal.outcome]}**.")
    if not reveal.counted:
        st.info(
            "This vote is one of a quick run of identical votes: it is kept, but not counted "
            "on the leaderboard.",
            icon=":material/flag:",
        )
    if st.button("Next pair", type="primary"):
        del st.session_state[REVEAL_KEY]
        st.rerun()


def leaderboard_view(engine) -> None:
    """The live board: recomputed when the counted votes changed (the library caches it)."""
    st.subheader("Leaderboard")
    with st.spinner("Updating the leaderboard…"):
        board = arena.arena_leaderboard(engine)
    if board.table.empty:
        st.caption("Not enough votes yet to rank anyone: come back after a few more pairs.")
        return
    table = board.table
    shown = pd.DataFrame(
        {
            "#": [str(i) if ranked else "" for i, ranked in enumerate(table["ranked"], start=1)],
            "model": table["model"],
            "score [95 % CI]": [
                f"{score:.0f} [{low:.0f}, {high:.0f}]" if score == score else "—"
                for score, low, high in zip(
                    table["score"], table["ci_low"], table["ci_high"], strict=True
                )
            ],
            "votes": table["votes"],
            "status": table["status"],
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption(
        f"Bradley–Terry scores (Elo-like, mean 1000; ties count half) with 95 % bootstrap "
        f"intervals over {board.counted_votes} counted votes; below {board.min_votes} votes a "
        f"model is *preliminary*. {board.flagged_votes} flagged vote(s) are kept but not "
        "counted. Researchers: `drumeval study leaderboard arena`, `drumeval study export arena`."
    )


def arena_view(engine) -> None:
    st.title("Arena")
    st.markdown(INTRO)
    try:
        study = arena.load_arena(engine)
        token = visitor_token(engine, study)
        reveal = st.session_state.get(REVEAL_KEY)
        if reveal is None:
            match_view(engine, study, token)
            return
        reveal_view(reveal)
        leaderboard_view(engine)
    except DrumevalError as error:
        st.error(str(error), icon=":material/error:")
