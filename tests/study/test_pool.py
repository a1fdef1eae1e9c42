"""The clip pool: reruns build only what is missing, anchors at the corpus's density, imports."""

import numpy as np
import pytest

from db.engine import transaction
from db.models import Clip
from drumeval import clipstore
from drumeval.audio import KITS
from drumeval.clips import Condition, event_ids_to_midi_bytes, finish_clip, form_identity
from drumeval.data.corpus import load_corpus
from drumeval.data.drum_classes import STEPS_PER_BAR
from drumeval.errors import StudyError
from drumeval.models.structured_steps import default_form
from drumeval.study import pool

CONDITION = Condition("drums_rnn", "thesis", "techno-house", 700, 1.0, 4, 0)


def _groove(seed: int, bars: int = 4) -> np.ndarray:
    """A kick on every beat plus seeded hi-hats: a valid, audible, distinct drum track."""
    rng = np.random.default_rng(seed)
    ids = np.zeros(bars * STEPS_PER_BAR, dtype=np.int32)
    ids[::4] |= 1  # kick
    ids |= (rng.random(len(ids)) < 0.5).astype(np.int32) << 2  # closed hi-hat
    return ids


@pytest.fixture
def fake_models(monkeypatch):
    """`make_clip` without a model: the pool's own logic is what these tests check."""
    calls: list[Condition] = []

    def make_clip(condition, *, target_lufs=None, progress=None, kit=None, excerpt_bars=None):
        calls.append(condition)
        return finish_clip(
            _groove(condition.seed, condition.bars),
            genre=condition.genre,
            corpus=None,
            condition=condition,
            provenance={"seed": condition.seed},
            target_lufs=target_lufs,
            kit=kit,
            excerpt_bars=excerpt_bars,
        )

    monkeypatch.setattr("drumeval.clips.make_clip", make_clip)
    return calls


def _conditions(engine) -> dict[str, list[int | None]]:
    found: dict[str, list[int | None]] = {}
    for clip in pool.pool_clips(engine):
        found.setdefault(clip.condition, []).append(clip.seed)
    return found


def test_a_rerun_builds_only_the_missing_clips(db_engine, fake_models):
    name = pool.condition_name(CONDITION)
    first = pool.build_pool(
        db_engine,
        conditions=[CONDITION],
        per_condition=2,
        seed=10,
        references_per_genre=0,
        anchors_per_genre=0,
        practice=False,
    )
    assert [c.seed for c in fake_models] == [10, 11]
    assert len(first.added) == 2 and not first.existing
    second = pool.build_pool(
        db_engine,
        conditions=[CONDITION],
        per_condition=3,
        seed=10,
        references_per_genre=0,
        anchors_per_genre=0,
        practice=True,
    )
    assert [c.seed for c in fake_models] == [10, 11, 12, 13]  # one new clip, one practice
    assert len(second.added) == 2 and len(second.existing) == 2
    assert _conditions(db_engine) == {name: [10, 11, 12], pool.practice_name(4): [13]}
    with transaction(db_engine) as session:
        rows = session.query(Clip).all()
    for row in rows:
        assert clipstore.exists(row.midi_sha256, "mid")
        assert clipstore.exists(row.audio_sha256, row.audio_format)
        assert row.loudness_lufs == pytest.approx(-23.0, abs=0.5)
    assert {row.role for row in rows} == {"generated", "training"}
    assert {row.model for row in rows if row.role == "generated"} == {"drums_rnn"}


def test_references_come_from_the_eval_split_and_anchors_are_random(db_engine, fake_models):
    report = pool.build_pool(
        db_engine,
        conditions=[CONDITION],
        per_condition=1,
        seed=0,
        references_per_genre=2,
        anchors_per_genre=1,
        practice=False,
        is_demo=True,
        prefix="demo/",
    )
    assert not report.skipped
    corpus = load_corpus("techno-house-700")
    with transaction(db_engine) as session:
        rows = session.query(Clip).all()
    roles = {row.condition: row.role for row in rows}
    assert roles == {
        "demo/" + pool.condition_name(CONDITION): "generated",
        "demo/reference/techno-house-700/4bars": "reference",
        "demo/anchor/techno-house-700/4bars": "anchor",
    }
    references = [row for row in rows if row.role == "reference"]
    assert len(references) == 2
    for row in references:
        assert corpus.is_eval[row.provenance["example"]]
        assert row.duration_s == pytest.approx(8.0, abs=0.1)  # 4 bars at 120 qpm
    assert all(row.is_demo for row in rows)


def test_anchors_hit_each_class_at_the_corpus_rate():
    corpus = load_corpus("jazz-soul-700")
    rates = pool.class_hit_rates(*corpus.split("train"))
    assert rates.shape == (9,) and 0 < rates.max() < 1
    anchor = pool.random_drums(rates, bars=60 * 20, seed=1)
    measured = pool.class_hit_rates(anchor[None, :], np.array([len(anchor)]))
    np.testing.assert_allclose(measured, rates, atol=0.01)
    assert np.array_equal(anchor, pool.random_drums(rates, bars=60 * 20, seed=1))
    assert not np.array_equal(anchor, pool.random_drums(rates, bars=60 * 20, seed=2))


def test_anchor_is_never_silent():
    assert pool.random_drums(np.zeros(9) + 1e-9, bars=1, seed=0).any()


def test_import_skips_bad_files_with_their_reason(db_engine, tmp_path):
    good = event_ids_to_midi_bytes(_groove(1), kit="tr808")
    (tmp_path / "magenta-seed-1.mid").write_bytes(good)
    (tmp_path / "garbage.mid").write_bytes(b"not a midi file at all")
    (tmp_path / "truncated.midi").write_bytes(good[:30])
    (tmp_path / "notes.txt").write_text("ignored: not a MIDI name")
    report = pool.import_clips(
        db_engine, tmp_path, condition="magenta-original", genre="techno-house"
    )
    assert len(report.imported) == 1
    assert [name for name, _ in report.skipped] == ["garbage.mid", "truncated.midi"]
    assert all(reason for _, reason in report.skipped)
    with transaction(db_engine) as session:
        row = session.query(Clip).one()
    assert (row.role, row.condition, row.genre) == ("imported", "magenta-original", "techno-house")
    assert row.midi_sha256 == clipstore.sha256_hex(good)  # stored by content, not by name
    again = pool.import_clips(
        db_engine, tmp_path, condition="magenta-original", genre="techno-house"
    )
    assert [clip.id for clip in again.imported] == [row.id]  # the same file is one clip


def test_uploaded_files_store_no_name(db_engine, data_home):
    good = event_ids_to_midi_bytes(_groove(2), kit="jazz")
    report = pool.import_midi(
        db_engine,
        [("drums_rnn-7-001.mid", good), ("huge.mid", b"MThd" + bytes(6_000_000))],
        condition="their-model",
        genre="jazz-soul",
    )
    assert len(report.imported) == 1
    assert report.skipped[0][0] == "huge.mid" and "larger than" in report.skipped[0][1]
    names = [path.name for path in data_home.rglob("*") if path.is_file()]
    assert not any("drums_rnn" in name for name in names)


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "invalid condition name"), ("reference/mine", "reserved"), ("a b", "invalid")],
)
def test_import_condition_names_are_checked(name, message):
    with pytest.raises(StudyError, match=message):
        pool.check_import_condition(name)


def test_import_needs_a_folder_with_midi(db_engine, tmp_path):
    with pytest.raises(StudyError, match="not a directory"):
        pool.import_clips(db_engine, tmp_path / "nope", condition="x1", genre="jazz-soul")
    with pytest.raises(StudyError, match=r"no \.mid or \.midi file"):
        pool.import_clips(db_engine, tmp_path, condition="x1", genre="jazz-soul")


def test_the_whole_pool_shares_one_loudness_target(db_engine, fake_models):
    pool.build_pool(
        db_engine,
        conditions=[CONDITION],
        per_condition=1,
        target_lufs=-26.0,
        references_per_genre=0,
        anchors_per_genre=0,
        practice=False,
    )
    assert pool.pool_target_lufs(db_engine) == -26.0
    groove = event_ids_to_midi_bytes(_groove(5), kit="tr808")
    report = pool.import_midi(
        db_engine, [("a.mid", groove)], condition="theirs", genre="techno-house"
    )
    assert report.imported[0].loudness_lufs == pytest.approx(-26.0, abs=0.5)  # the pool's level
    with pytest.raises(StudyError, match="rendered at -26 LUFS"):
        pool.import_midi(
            db_engine, [("a.mid", groove)], condition="other", genre="techno-house", target_lufs=-20
        )
    with pytest.raises(StudyError, match="rendered at -26 LUFS"):
        pool.build_pool(db_engine, conditions=[CONDITION], per_condition=2, target_lufs=-23.0)


JAZZ = Condition("drums_rnn", "thesis", "jazz-soul", 700, 1.0, 4, 0)


def _program(midi_sha256: str) -> int:
    """The kit a stored clip's MIDI file selects (its drum track's program change)."""
    import io

    import pretty_midi

    (track,) = pretty_midi.PrettyMIDI(io.BytesIO(clipstore.get(midi_sha256, "mid"))).instruments
    return track.program


def test_a_shared_kit_pool_renders_every_clip_with_that_kit_beside_the_genre_kit_pool(
    db_engine, fake_models
):
    how = {"per_condition": 1, "references_per_genre": 1, "anchors_per_genre": 1}
    own = pool.build_pool(db_engine, conditions=[CONDITION, JAZZ], **how)
    shared = pool.build_pool(db_engine, conditions=[CONDITION, JAZZ], kit="standard", **how)
    assert len(shared.added) == len(own.added) == 7  # 2 generated, 2 refs, 2 anchors, practice
    assert {c.condition for c in shared.added} == {f"kit-standard/{c.condition}" for c in own.added}
    with transaction(db_engine) as session:
        rows = {row.condition: row for row in session.query(Clip)}
    for clip in shared.added:
        row, twin = rows[clip.condition], rows[clip.condition.removeprefix("kit-standard/")]
        assert row.provenance["kit"] == "standard"
        assert twin.provenance["kit"] == {"techno-house": "tr808", "jazz-soul": "jazz"}[row.genre]
        assert row.audio_sha256 != twin.audio_sha256, "another kit, other audio"
        assert _program(row.midi_sha256) == KITS["standard"]
        assert _program(twin.midi_sha256) == KITS[twin.provenance["kit"]]
    practice = rows["kit-standard/practice/4bars"]
    assert practice.provenance["kit"] == "standard"


def test_a_shared_kit_study_selects_its_own_references_anchors_and_practice(db_engine, fake_models):
    from drumeval.study import setup

    how = {"per_condition": 2, "references_per_genre": 1, "anchors_per_genre": 1}
    pool.build_pool(db_engine, conditions=[CONDITION], **how)
    pool.build_pool(db_engine, conditions=[CONDITION], kit="standard", **how)
    config = setup.parse_config(
        f"""
title = "Shared kit"
slug = "shared-kit"
conditions = ["kit-standard/{pool.condition_name(CONDITION)}"]
clips_per_condition = 2
clips_per_participant = 2
references = 1
anchors = 1
practice = true
"""
    )
    selection = setup.select_clips(db_engine, config)
    with transaction(db_engine) as session:
        chosen = [
            session.get(Clip, clip_id) for clip_id in [*selection.trial_ids, selection.training]
        ]
    assert {clip.condition.split("/")[0] for clip in chosen} == {"kit-standard"}
    assert {clip.provenance["kit"] for clip in chosen} == {"standard"}
    assert {clip.role for clip in chosen} == {"generated", "reference", "anchor", "training"}


def test_an_unknown_kit_is_refused_with_the_known_names(db_engine, fake_models):
    from drumeval.errors import AudioError

    with pytest.raises(AudioError, match=r"unknown drum kit 'tr909'.*standard"):
        pool.build_pool(db_engine, conditions=[CONDITION], per_condition=1, kit="tr909")
    assert not fake_models
    with pytest.raises(StudyError, match="reserved"):
        pool.check_import_condition("kit-standard/mine")


def test_gold_clips_are_dense_random_noise_with_their_known_answer(db_engine, fake_models):
    report = pool.build_pool(
        db_engine,
        conditions=[CONDITION],
        per_condition=1,
        references_per_genre=0,
        anchors_per_genre=0,
        gold_per_genre=2,
        practice=False,
    )
    gold = [clip for clip in report.added if clip.role == "gold"]
    assert [clip.condition for clip in gold] == [pool.gold_name("techno-house-700", 4)] * 2
    with transaction(db_engine) as session:
        rows = session.query(Clip).filter_by(role="gold").all()
        assert all("realism −2 ± 1" in row.provenance["source"] for row in rows)
        midi = {row.midi_sha256 for row in rows}
    assert len(midi) == 2  # two seeds, two different noises
    noise = pool.random_drums(np.full(9, pool.GOLD_HIT_RATE), bars=4, seed=0)
    hits = (noise[:, None] >> np.arange(9)) & 1
    assert 0.4 < hits.mean() < 0.6  # every class on about half the steps: a wall of noise


FORM_A = "intro:4 drop:8 outro:4"
FORM_B = "intro:4 breakdown:8 outro:4"


def _structured(form: str = "", bars: int = 16) -> Condition:
    return Condition("structured", "thesis-form", "techno-house", 700, 1.0, bars, 0, form=form)


def test_two_custom_forms_of_one_length_are_two_conditions_whose_names_parse_back():
    first, second = _structured(FORM_A), _structured(FORM_B)
    names = {pool.condition_name(first), pool.condition_name(second)}
    assert len(names) == 2
    for name in names:
        assert name.startswith("structured/thesis-form+form-") and name.endswith("/t1/16bars")
    # The default form, left implicit or spelled out, keeps the plain name (the same clip).
    spelled_out = _structured(default_form("techno-house", 16).to_text())
    assert pool.condition_name(spelled_out) == pool.condition_name(_structured())
    assert pool.condition_name(_structured()) == "structured/thesis-form/techno-house-700/t1/16bars"

    for condition, prefix in [(first, ""), (first, "demo/kit-standard/"), (CONDITION, "demo/")]:
        name = pool.condition_name(condition, prefix=prefix)
        parsed = pool.parse_condition_name(name)
        assert parsed == pool.GeneratedName(
            prefix=prefix,
            model=condition.model,
            preset=condition.preset,
            form=form_identity(condition),
            corpus=condition.corpus,
            temperature=condition.temperature,
            bars=condition.bars,
        )
        assert parsed.name == name
    assert pool.parse_condition_name(pool.condition_name(_structured())).form == ""
    for other in ["reference/techno-house-700/16bars", "practice/4bars", "my-clips/take-1"]:
        assert pool.parse_condition_name(other) is None


def test_a_pool_of_two_forms_keeps_their_clips_apart_and_a_study_selects_one(
    db_engine, fake_models
):
    from drumeval.study import setup

    first, second = _structured(FORM_A), _structured(FORM_B)
    pool.build_pool(
        db_engine,
        conditions=[first, second],
        per_condition=2,
        references_per_genre=1,
        anchors_per_genre=0,
        practice=False,
    )
    assert [c.form for c in fake_models] == [FORM_A, FORM_A, FORM_B, FORM_B]
    found = _conditions(db_engine)
    assert found[pool.condition_name(first)] == [0, 1]
    assert found[pool.condition_name(second)] == [0, 1]
    config = setup.parse_config(
        f"""
title = "Two forms"
slug = "two-forms"
conditions = ["{pool.condition_name(second)}"]
clips_per_condition = 2
clips_per_participant = 2
references = 1
anchors = 0
practice = false
"""
    )
    selection = setup.select_clips(db_engine, config)
    with transaction(db_engine) as session:
        chosen = [session.get(Clip, clip_id) for clip_id in selection.trial_ids]
    assert sorted(clip.condition for clip in chosen) == sorted(
        [pool.condition_name(second)] * 2 + ["reference/techno-house-700/16bars"]
    )
