"""Blinding: nothing an evaluator's browser receives may reveal which model made a clip.

Two participants take a study of a DrumsRNN techno clip and a MusicVAE jazz clip, both
rendered by the real audio pipeline. Every page's DOM (shadow roots included), every URL the
browser requests and every audio byte it fetches (`/clips/<sha256>.<ext>`) is scanned for model,
preset, corpus, checkpoint and condition names; and the same position's page for a techno and
a jazz clip must differ only in the audio itself.
"""

import re
from pathlib import Path

import numpy as np
import pytest

from db import repository
from db.engine import open_database, transaction
from deploy.browser_evaluator import (
    WAIT_MS,
    audio_player,
    choose,
    fill_rating,
    settle,
    wait_until_unlocked,
)
from drumeval import clipstore, registry
from drumeval.audio import kit_for_genre, render_track
from drumeval.study import content
from tests.browser_support import served_app

pytestmark = pytest.mark.browser
CLIP_URL = re.compile(r"/clips/[0-9a-f]{64}\.[a-z0-9]+")
CLIPS = (
    ("drums_rnn", "thesis", "techno-house", 700),
    ("music_vae", "thesis-longbar", "jazz-soul", 1500),
)
_DOM_WITH_SHADOW_ROOTS = """() => {
  const dump = (root) => {
    let html = root.innerHTML || "";
    for (const element of root.querySelectorAll("*")) {
      if (element.shadowRoot) html += dump(element.shadowRoot);
    }
    return html;
  };
  return dump(document.documentElement);
}"""


def _pattern(genre: str, seed: int) -> np.ndarray:
    """Four bars of a plausible groove for the genre (bit 0 kick, 1 snare, 2 closed hat)."""
    rng = np.random.default_rng(seed)
    steps = np.zeros(64, dtype=np.int64)
    if genre == "techno-house":
        steps[::4] |= 1
        steps[2::4] |= 4
    else:
        steps[::16] |= 1
        steps[rng.choice(64, 12, replace=False)] |= 4
        steps[4::8] |= 2
    return steps


def _forbidden_terms() -> set[str]:
    terms = {"drums_rnn", "music_vae", "drumsrnn", "musicvae", "model.keras", "checkpoint"}
    for family in registry.MODELS.values():
        terms |= {family.name, family.label.lower(), *family.presets}
    for model, preset, genre, size in CLIPS:
        terms |= {f"{genre}-{size}", f"{model}/{preset}", f"{preset}/{genre}-{size}"}
    return {term.lower() for term in terms}


@pytest.fixture
def blind_study(tmp_path, monkeypatch):
    monkeypatch.setenv("DRUMEVAL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    engine = open_database()
    with transaction(engine, write_lock=True) as session:
        clip_ids = {}
        for index, (model, preset, genre, size) in enumerate(CLIPS):
            rendered = render_track(_pattern(genre, index), kit=kit_for_genre(genre))
            condition = f"{model}/{preset}/{genre}-{size}/t1.0"
            clip = repository.add_clip(
                session,
                role="generated",
                condition=condition,
                midi_sha256=clipstore.sha256_hex(condition.encode()),
                audio_sha256=clipstore.put(rendered.path.read_bytes(), rendered.format),
                audio_format=rendered.format,
                duration_s=rendered.duration_s,
                model=model,
                preset=preset,
                genre=genre,
                corpus_size=size,
                seed=index,
                provenance={"checkpoint": f"checkpoints/{model}/{preset}/{genre}-{size}"},
            )
            clip_ids[clip.id] = genre
        practice = render_track(_pattern("techno-house", 9), kit=kit_for_genre("techno-house"))
        training = repository.add_clip(
            session,
            role="training",
            condition="practice",
            midi_sha256=clipstore.sha256_hex(b"practice"),
            audio_sha256=clipstore.put(practice.path.read_bytes(), practice.format),
            audio_format=practice.format,
            duration_s=practice.duration_s,
        )
        study = repository.create_study(
            session,
            slug="blind",
            title="Drum study",
            design={
                "clips_per_participant": 2,
                "min_listen_seconds": 1.0,
                "headphone_check": False,
                "seed": 3,
            },
        )
        repository.add_study_clips(
            session, study_id=study.id, clip_ids=list(clip_ids), training_clip_id=training.id
        )
        repository.set_study_status(session, study_id=study.id, status="open")
    with served_app(tmp_path / "home") as server:
        yield server, engine, clip_ids


def _take_study(browser, url: str) -> tuple[list[str], list[str], list[bytes]]:
    """Go through the study; return each screen's DOM, every requested URL and the audio."""
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    screens = []
    page.goto(url, timeout=WAIT_MS)
    page.get_by_role("button", name="I agree — start the study").wait_for(timeout=WAIT_MS)
    screens.append(page.evaluate(_DOM_WITH_SHADOW_ROOTS))
    page.get_by_role("button", name="I agree — start the study").click()
    page.get_by_text("A few questions about you").wait_for(timeout=WAIT_MS)
    screens.append(page.evaluate(_DOM_WITH_SHADOW_ROOTS))
    for _key, question, options in content.QUESTIONNAIRE:
        choose(page, question, options[0])
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Start with the practice clip").click(timeout=WAIT_MS)
    for heading in ("Practice clip", "Clip 1 of 2", "Clip 2 of 2"):
        page.get_by_text(heading, exact=True).wait_for(timeout=WAIT_MS)
        audio_player(page, heading).evaluate(
            "audio => { audio.currentTime = 0; return audio.play(); }"
        )
        wait_until_unlocked(page, heading)
        screens.append(page.evaluate(_DOM_WITH_SHADOW_ROOTS))
        audio_player(page, heading).evaluate("audio => audio.pause()")
        settle(page)
        fill_rating(page, "0", "Can't tell", "1")
        page.get_by_role("button", name="Submit rating").click()
        page.get_by_text(heading, exact=True).wait_for(state="detached", timeout=WAIT_MS)
    page.get_by_text("Thank you!").wait_for(timeout=WAIT_MS)
    screens.append(page.evaluate(_DOM_WITH_SHADOW_ROOTS))
    requested.append(page.url)
    clips = sorted({u for u in requested if CLIP_URL.search(u)})
    audio = [context.request.get(u).body() for u in clips]
    context.close()
    return screens, requested, audio


VOLATILE = (
    re.compile(r' class="[^"]*"'),  # emotion's generated CSS classes
    re.compile(r"<style[^>]*>.*?</style>", re.DOTALL),
    re.compile(r' data-test-(?:script|connection)-state="[^"]*"'),
    re.compile(r"(?:react-aria\d+-)?:r\w+:"),  # React's per-render element ids
)


def _normalised(html: str) -> str:
    """The DOM with the audio bytes and the renderer's CSS bookkeeping taken out."""
    html = CLIP_URL.sub("AUDIO", html)
    for pattern in VOLATILE:
        html = pattern.sub("", html)
    return html


def test_nothing_the_browser_receives_names_the_model(blind_study, browser):
    server, engine, clip_ids = blind_study
    runs = [_take_study(browser, f"{server.url}/study?s=blind") for _ in range(2)]
    forbidden = _forbidden_terms()
    with transaction(engine) as session:
        from db.models import Clip

        stored = {sha for sha in session.query(Clip.audio_sha256)}
    for screens, requested, audio in runs:
        assert len(audio) == len(stored), "the practice clip and both rated clips were fetched"
        for html in screens:
            text = _normalised(html).lower()
            assert not [term for term in forbidden if term in text]
        for data in audio:
            assert data.startswith(b"OggS")
            assert not [term for term in forbidden if term.encode() in data.lower()]
        for url in requested:
            assert not [term for term in forbidden if term in url.lower()], url

    with transaction(engine) as session:
        from db.models import Assignment, Participant

        first_clip = {
            participant.id: session.query(Assignment)
            .filter_by(participant_id=participant.id, position=1)
            .one()
            .clip_id
            for participant in session.query(Participant).order_by(Participant.id)
        }
    genres = [clip_ids[clip] for clip in first_clip.values()]
    assert sorted(genres) == ["jazz-soul", "techno-house"], "counterbalanced first clips"
    page_a, page_b = (_normalised(screens[3]) for screens, _, _ in runs)  # "Clip 1 of 2"
    if page_a != page_b:
        import difflib

        diff = difflib.unified_diff(page_a.split(">"), page_b.split(">"), lineterm="", n=1)
        pytest.fail("a techno and a jazz clip page differ beyond the audio:\n" + "\n".join(diff))
    raw_a, raw_b = (screens[3] for screens, _, _ in runs)
    assert raw_a != raw_b  # …and the audio itself does differ


def test_clip_store_names_are_content_hashes_only(tmp_path):
    digest = clipstore.put(b"OggS fake audio", "ogg", root=tmp_path)
    (path,) = Path(tmp_path).rglob("*.ogg")
    assert path.name == f"{digest}.ogg"
    assert re.fullmatch(r"[0-9a-f]{64}\.ogg", path.name)
