"""What a rerun of the rating step sends: the clip's area is a fragment, so that the player's
reports and each answer rerun only it (issue 31, docs/benchmarks.md)."""

from unittest import mock

from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.local_script_runner import LocalScriptRunner

from db.engine import open_database
from drumeval.study.synthetic import make_study
from tests.conftest import REPO_ROOT


def _texts_by_fragment(messages) -> dict[str, set[str]]:
    """The text of every element sent, by the fragment it belongs to ("" for the page)."""
    found: dict[str, set[str]] = {}
    for message in messages:
        if not message.HasField("delta") or not message.delta.HasField("new_element"):
            continue
        element = message.delta.new_element
        kind = element.WhichOneof("type")
        text = getattr(getattr(element, kind), "body", None) or getattr(
            getattr(element, kind), "label", None
        )
        if text:
            found.setdefault(message.delta.fragment_id, set()).add(text)
    return found


def test_the_rating_area_is_a_fragment_and_the_page_around_it_is_not(data_home):
    make_study(open_database(), headphone_check=False)
    sent: list = []
    forward_msgs = LocalScriptRunner.forward_msgs

    def recorded(runner):
        messages = forward_msgs(runner)
        sent[:] = messages
        return messages

    app = AppTest.from_file(str(REPO_ROOT / "pages" / "study.py"), default_timeout=60)
    app.query_params["s"] = "tiny"
    with mock.patch.object(LocalScriptRunner, "forward_msgs", recorded):
        app.run()
        next(b for b in app.button if b.label.startswith("I agree")).click().run()
        for radio in app.radio:
            radio.set_value(radio.options[0])
        next(b for b in app.button if b.label.startswith("Continue")).click().run()
        next(b for b in app.button if b.label.startswith("Start")).click().run()
    assert not app.exception
    by_fragment = _texts_by_fragment(sent)
    page = by_fragment.pop("", set())
    assert len(by_fragment) == 1  # one fragment: the clip's area
    (area,) = by_fragment.values()
    assert {"Practice clip", "Listen first to unlock the rating", "Comment (optional)"} <= area
    assert "Leave the study" in page and "Leave the study" not in area
