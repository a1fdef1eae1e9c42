"""The `/arena` page through streamlit.testing: blind until the vote, locked until both sides
were heard, then the reveal and the leaderboard, and the next pair."""

import pytest
from streamlit.testing.v1 import AppTest

from db.engine import open_database, transaction
from db.models import PairwiseVote
from drumeval.study import arena
from tests.conftest import REPO_ROOT
from tests.factories import SECONDS, make_arena

TIMEOUT_S = 60
VOTES = ("A is better", "B is better", "Tie", "Both bad")
# Words that would name a side's source before the vote.
NAMES = ("DrumsRNN", "MusicVAE", "drums_rnn", "music_vae", "arena/", "Human drummer (")


@pytest.fixture
def engine(data_home):
    engine = open_database()
    make_arena(engine)
    return engine


def _page() -> AppTest:
    return AppTest.from_file(str(REPO_ROOT / "pages" / "arena.py"), default_timeout=TIMEOUT_S).run()


def _texts(app: AppTest) -> list[str]:
    texts = [
        e.value for kind in ("title", "subheader", "markdown", "caption") for e in app.get(kind)
    ]
    texts += [button.label for button in app.button]
    texts += [str(metric.value) for metric in app.metric]
    return texts


def _votes(app: AppTest) -> dict:
    return {button.label: button for button in app.button if button.label in VOTES}


def _hear(app: AppTest, number: int, seconds: tuple[float, float]) -> None:
    app.session_state[f"arena:{number}"] = {
        "progress": {"token": str(number), "heard_seconds": list(seconds), "plays": 1}
    }
    app.run()


def test_listen_vote_reveal_and_next_pair(engine):
    app = _page()
    assert not app.exception
    assert app.title[0].value == "Arena" and app.subheader[0].value == "Pair 1"
    assert not any(name in text for text in _texts(app) for name in NAMES)
    assert all(button.disabled for button in _votes(app).values())
    _hear(app, 1, (SECONDS, 0.5))
    assert all(button.disabled for button in _votes(app).values())
    _hear(app, 1, (SECONDS, SECONDS))
    assert not any(button.disabled for button in _votes(app).values())
    assert not any(name in text for text in _texts(app) for name in NAMES)
    _votes(app)["B is better"].click().run()
    assert not app.exception
    assert [s.value for s in app.subheader] == ["Who made which", "Leaderboard"]
    labels = {c.label for c in arena.contestants()}
    assert {str(m.value) for m in app.metric} <= labels and len(app.metric) == 2
    assert any("You said: **B is better**" in m.value for m in app.markdown)
    with transaction(engine) as session:
        [vote] = session.query(PairwiseVote).all()
    assert vote.outcome == "b" and vote.flag is None and vote.heard_b_seconds == SECONDS
    board = app.dataframe[0].value
    assert list(board.columns) == ["#", "model", "score [95 % CI]", "votes", "status"]
    assert set(board["model"]) <= labels and set(board["status"]) == {"preliminary"}
    assert any("1 counted votes" in c.value for c in app.caption)
    next(b for b in app.button if b.label == "Next pair").click().run()
    assert app.subheader[0].value == "Pair 2"
    assert all(button.disabled for button in _votes(app).values())


def test_the_rate_limit_is_said_on_the_page(engine, monkeypatch):
    monkeypatch.setattr(arena, "VOTES_PER_MINUTE", 1)
    app = _page()
    _hear(app, 1, (SECONDS, SECONDS))
    _votes(app)["Tie"].click().run()
    next(b for b in app.button if b.label == "Next pair").click().run()
    _hear(app, 2, (SECONDS, SECONDS))
    _votes(app)["A is better"].click().run()
    assert any("at most 1 times a minute" in w.value for w in app.warning)
    assert app.subheader[0].value == "Pair 2"  # still the same pair, nothing revealed


def test_an_arena_not_built_yet_says_how_to_build_it(data_home):
    open_database()
    app = _page()
    assert not app.exception
    assert "study demo --ensure" in app.error[0].value
