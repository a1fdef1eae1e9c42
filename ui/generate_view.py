"""The Generate page's views: settings ↔ URL, validation at the field, progress, the result.

The page's state is the URL (`?model=…&preset=…&genre=…&size=…&temperature=…&bars=…&seed=…`,
plus `form` for the structured model, `to_seed` and `mix` for a MusicVAE blend). Generation is
deterministic, so the result is drawn from the URL on every run — a download, a reload or a
shared link shows the same track — never from "the button was just pressed". Widgets hold the
settings being edited; pressing Generate validates them and writes them to the URL.
"""

import secrets
import time
import urllib.parse
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from drumeval import clips, registry
from drumeval.errors import DrumevalError
from ui import cached
from ui.progress import streamlit_progress

GENERATION_LIMIT = 30  # new clips per browser session on the public page
CONDITION_KEYS = ("model", "preset", "genre", "size", "temperature", "bars", "seed", "form")
CUSTOM_FORM = "custom"  # the form-preset choice while the form text is edited by hand
BLEND_KEYS = ("to_seed", "mix")
_PREFIX = "generate_"
MADE_KEY = f"{_PREFIX}made"  # permalinks of the clips this session has made
ERRORS_KEY = f"{_PREFIX}errors"  # field → reason, from the last Generate press or the URL
SYNCED_KEY = f"{_PREFIX}synced"  # the URL the widgets were last filled from


def _key(field: str) -> str:
    return f"{_PREFIX}{field}"


@dataclass(frozen=True)
class Catalogue:
    """What can be generated: the shipped (model, preset, genre, size) combinations."""

    rows: tuple[tuple[str, str, str, int], ...]

    def models(self) -> list[str]:
        return [name for name in registry.MODEL_NAMES if any(r[0] == name for r in self.rows)]

    def presets(self, model: str) -> list[str]:
        family = registry.MODELS[model]
        return [p for p in family.presets if any(r[:2] == (model, p) for r in self.rows)]

    def genres(self, model: str, preset: str) -> list[str]:
        shipped = {r[2] for r in self.rows if r[:2] == (model, preset)}
        return [genre for genre in registry.GENRE_NAMES if genre in shipped]

    def sizes(self, model: str, preset: str, genre: str) -> list[int]:
        shipped = {r[3] for r in self.rows if r[:3] == (model, preset, genre)}
        return [size for size in registry.CORPUS_SIZES if size in shipped]

    def has(self, condition: clips.Condition) -> bool:
        return (
            condition.model,
            condition.preset,
            condition.genre,
            condition.corpus_size,
        ) in self.rows


def catalogue() -> Catalogue:
    return Catalogue(tuple(cached.shipped()))


def _preferred_preset(catalogue: Catalogue, model: str) -> str:
    presets = catalogue.presets(model)
    default = registry.DEFAULT_PRESETS[model]
    return default if default in presets else presets[0]


def sync_widgets_from_url() -> None:
    """Fill the widgets from the URL when it changed (first load, shared link, back button).

    Values the URL gets wrong keep the field's previous value, and the reason is shown at the
    field; the seed box keeps the text as typed in the link, so the user sees what was wrong.
    """
    query = {key: st.query_params[key] for key in CONDITION_KEYS if key in st.query_params}
    signature = urllib.parse.urlencode(sorted(query.items()))
    if st.session_state.get(SYNCED_KEY) == signature:
        return
    st.session_state[SYNCED_KEY] = signature
    errors: dict[str, str] = {}
    base = clips.DEFAULT_CONDITION
    values = {
        "model": base.model,
        "preset": base.preset,
        "genre": base.genre,
        "size": base.corpus_size,
        "temperature": base.temperature,
        "bars": base.bars,
        "seed": str(base.seed),
        "form": base.form,
    }
    parsers = {
        "size": lambda text: clips.Condition.from_query({"size": text}).corpus_size,
        "temperature": clips.parse_temperature,
        "bars": clips.parse_bars,
    }
    for field, text in query.items():
        if field in parsers:
            try:
                values[field] = parsers[field](text)
            except clips.ConditionError as error:
                errors[field] = f"The link asked for {text!r}: {error}"
        else:
            values[field] = text
    if "model" in query and "preset" not in query and query["model"] in registry.MODELS:
        values["preset"] = registry.DEFAULT_PRESETS[query["model"]]
    if "seed" in query:
        try:
            clips.parse_seed(query["seed"])
        except clips.ConditionError as error:
            errors["seed"] = str(error)
    for field, value in values.items():
        st.session_state[_key(field)] = value
    st.session_state[ERRORS_KEY] = errors


def _choice(label: str, field: str, options: list, *, radio: bool = True, **kwargs):
    """A radio/selectbox whose remembered value is replaced when it is no longer offered."""
    key = _key(field)
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]
    widget = st.radio if radio else st.selectbox
    return widget(label, options, key=key, **kwargs)


def field_error(field: str) -> None:
    """The reason a field's value was refused, right under the field."""
    message = st.session_state.get(ERRORS_KEY, {}).get(field)
    if message:
        st.error(message[:1].upper() + message[1:], icon=":material/error:")


def settings(catalogue: Catalogue) -> None:
    """The settings widgets (no form: Enter in a box never generates anything)."""
    left, middle, right = st.columns(3)
    with left:
        model = _choice(
            "Model",
            "model",
            catalogue.models(),
            format_func=lambda name: f"{registry.MODELS[name].label}",
            captions=[registry.MODELS[name].description for name in catalogue.models()],
        )
        field_error("model")
        presets = catalogue.presets(model)
        if st.session_state.get(_key("preset")) not in presets:
            st.session_state[_key("preset")] = _preferred_preset(catalogue, model)
        preset = _choice(
            "Preset",
            "preset",
            presets,
            radio=False,
            help="The hyper-parameter set it was trained with.",
        )
        field_error("preset")
    with middle:
        genre = _choice(
            "Genre",
            "genre",
            catalogue.genres(model, preset),
            format_func=lambda name: registry.GENRES[name].label,
            captions=[
                registry.GENRES[name].description for name in catalogue.genres(model, preset)
            ],
        )
        field_error("genre")
        _choice(
            "Training corpus size",
            "size",
            catalogue.sizes(model, preset, genre),
            format_func=lambda size: f"{size} examples",
            horizontal=True,
        )
        field_error("size")
    with right:
        st.slider(
            "Temperature",
            clips.TEMPERATURE_MIN,
            clips.TEMPERATURE_MAX,
            step=0.05,
            key=_key("temperature"),
            help="Lower: safer, more repetitive. Higher: more surprising, eventually chaotic.",
        )
        field_error("temperature")
        if model == "structured":
            form_editor(genre)
        else:
            st.slider(
                "Bars",
                clips.BARS_MIN,
                clips.BARS_MAX,
                step=clips.BARS_STEP,
                key=_key("bars"),
                help="60 bars = 2 minutes at 120 BPM.",
            )
            field_error("bars")
        seed_box, dice = st.columns([3, 2], vertical_alignment="bottom")
        seed_box.text_input(
            "Seed",
            key=_key("seed"),
            help=f"A whole number 0 … {clips.SEED_MAX:,}. The same settings and seed always "
            "give the same track.",
        )
        dice.button(
            "Random",
            icon=":material/casino:",
            on_click=_randomise_seed,
            help="Pick a random seed and generate.",
        )
        _live_seed_check()


def form_editor(genre: str) -> None:
    """The structured model's song form: a genre preset, or the text edited by hand (at
    first the form the link plays: the genre's default fitted to its bars)."""
    presets = clips.form_presets(genre)
    form_key, preset_key = _key("form"), _key("form_preset")
    if not st.session_state.get(form_key):
        bars = st.session_state.get(_key("bars"), clips.BARS_MAX)
        preset = registry.DEFAULT_PRESETS["structured"]
        default = clips.Condition("structured", preset, genre, 700, 1.0, bars, 0)
        st.session_state[form_key] = clips.played_form(default).to_text()
    by_text = {text: name for name, text in presets.items()}
    st.session_state[preset_key] = by_text.get(st.session_state[form_key], CUSTOM_FORM)
    st.selectbox(
        "Song form",
        [*presets, CUSTOM_FORM],
        key=preset_key,
        on_change=_use_form_preset,
        args=(presets,),
        help="The sections the structured model plays, in order.",
    )
    st.text_input(
        "Sections (label:bars)",
        key=form_key,
        help="E.g. intro:8 build:8 drop:16 break:8 build:4 drop:12 outro:4. Labels: intro, "
        "build, drop, breakdown, outro, head, solo, trade, phrase. The length is the form's.",
    )
    field_error("form")


def _use_form_preset(presets: dict[str, str]) -> None:
    chosen = st.session_state[_key("form_preset")]
    if chosen in presets:
        st.session_state[_key("form")] = presets[chosen]


def _live_seed_check() -> None:
    """Explain a bad seed as soon as it is typed (before any Generate press)."""
    try:
        clips.parse_seed(st.session_state[_key("seed")])
    except clips.ConditionError as error:
        st.session_state.setdefault(ERRORS_KEY, {})["seed"] = str(error)
    else:
        st.session_state.setdefault(ERRORS_KEY, {}).pop("seed", None)
    field_error("seed")


def _condition_from_widgets() -> clips.Condition:
    model = st.session_state[_key("model")]
    return clips.Condition(
        model=model,
        preset=st.session_state[_key("preset")],
        genre=st.session_state[_key("genre")],
        corpus_size=st.session_state[_key("size")],
        temperature=st.session_state[_key("temperature")],
        # the structured model shows no bars slider (Streamlit then drops its key): its form
        # decides the length
        bars=st.session_state.get(_key("bars"), clips.BARS_MAX),
        seed=st.session_state[_key("seed")],
        form=st.session_state.get(_key("form"), "") if model == "structured" else "",
    )


def _write_url(query: dict[str, str]) -> None:
    st.query_params.from_dict(query)
    st.session_state[SYNCED_KEY] = urllib.parse.urlencode(
        sorted((k, v) for k, v in query.items() if k in CONDITION_KEYS)
    )


def _on_generate() -> None:
    """Validate the widgets; a valid condition goes to the URL, which drives the result."""
    errors = {
        field: reason
        for field, reason in st.session_state.get(ERRORS_KEY, {}).items()
        if field == "seed"
    }
    try:
        condition = _condition_from_widgets()
    except clips.ConditionError as error:
        errors[error.field] = str(error)
        st.session_state[ERRORS_KEY] = errors
        return
    st.session_state[ERRORS_KEY] = {}
    _write_url(condition.to_query())


def _randomise_seed() -> None:
    st.session_state[_key("seed")] = str(secrets.randbelow(clips.SEED_MAX + 1))
    _on_generate()


def generate_button() -> None:
    st.button("Generate", type="primary", icon=":material/play_arrow:", on_click=_on_generate)


def _made() -> list[str]:
    return st.session_state.setdefault(MADE_KEY, [])


def _within_limit(key: str) -> bool:
    """Count a new clip against the session's limit; False (and a message) when spent."""
    made = _made()
    if key in made:
        return True
    if len(made) >= GENERATION_LIMIT:
        st.info(
            f"You have made {GENERATION_LIMIT} tracks in this session, the limit of this public "
            "page: it shares one small computer with everyone. The tracks you made are still "
            "here (their links keep working). For more, install drumeval and run "
            "`drumeval generate --audio` on your own machine.",
            icon=":material/hourglass_empty:",
        )
        return False
    made.append(key)
    return True


def _make_with_progress(label: str, condition: clips.Condition, make) -> clips.Clip:
    """Run `make(progress)` inside a status box that names each stage as it starts."""
    started = time.perf_counter()
    with st.status(label, expanded=True) as status:
        progress = streamlit_progress(st.progress(0.0, text="Starting"), counts=False)
        family = registry.MODELS[condition.model].label
        progress(f"Loading {family} (first time only)", 0, clips.PERCENT)
        cached.loaded_model(
            condition.model, condition.preset, condition.genre, condition.corpus_size
        )
        clip = make(progress)
        status.update(
            label=f"Ready in {time.perf_counter() - started:.1f} s",
            state="complete",
            expanded=False,
        )
    return clip


def _limited_clip(
    query: dict[str, str], label: str, condition: clips.Condition, make, *, failure: str
) -> clips.Clip | None:
    """The clip the URL `query` names: cached, or made by `make(progress)` under a status box
    if the session's limit allows; None after a message (limit spent, or `failure: why`)."""
    key = urllib.parse.urlencode(query)
    if not _within_limit(key):
        return None
    try:
        return cached.clip_for(key, lambda: _make_with_progress(label, condition, make))
    except DrumevalError as error:
        st.error(f"{failure}: {error}")
        return None


def _query() -> dict[str, str]:
    return {key: st.query_params[key] for key in st.query_params}


def current_condition(catalogue: Catalogue) -> clips.Condition | None:
    """The condition in the URL, or None (nothing asked yet, or the URL is wrong: explained)."""
    query = _query()
    if not any(key in query for key in CONDITION_KEYS):
        st.info(
            "Choose the settings and press **Generate** to make a track.", icon=":material/tune:"
        )
        return None
    try:
        condition = clips.Condition.from_query(query)
    except clips.ConditionError as error:
        st.warning(f"This link cannot be played: {error}. Fix the field above and press Generate.")
        return None
    if not catalogue.has(condition):
        st.warning(
            f"No {registry.MODELS[condition.model].label} ({condition.preset}) checkpoint is "
            f"shipped for the {registry.GENRES[condition.genre].label} corpus of "
            f"{condition.corpus_size} examples. Pick one of the combinations offered above."
        )
        return None
    return condition


def show_result(catalogue: Catalogue) -> None:
    """Make (or fetch) the URL's clip and show it; also its blend when the URL asks for one."""
    condition = current_condition(catalogue)
    if condition is None:
        return
    _note_unsaved_edits(condition)
    clip = _limited_clip(
        condition.to_query(),
        "Making your track…",
        condition,
        lambda progress: clips.make_clip(condition, progress=progress),
        failure="Could not make this track",
    )
    if clip is None:
        return
    st.subheader("Your track")
    show_clip(clip, condition, file_stem=_file_stem(condition))
    blend_section(clip, condition)


def _note_unsaved_edits(condition: clips.Condition) -> None:
    try:
        edited = _condition_from_widgets()
    except clips.ConditionError:
        return
    if not clips.same_clip(edited, condition):
        st.caption(
            ":orange[You changed the settings: press **Generate** to make that track. "
            "Below is the track in the address bar.]"
        )


def _file_stem(condition: clips.Condition, suffix: str = "") -> str:
    return (
        f"drumeval-{condition.model}-{condition.preset}-{condition.corpus}"
        f"-t{condition.temperature:g}-seed{condition.seed}{suffix}"
    )


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{round(seconds % 60):02d}"


def describe(clip: clips.Clip, condition: clips.Condition) -> str:
    """What made the clip, in plain words."""
    family, genre = registry.MODELS[condition.model], registry.GENRES[condition.genre]
    loudness = f" at {clip.loudness_lufs:.0f} LUFS" if clip.loudness_lufs is not None else ""
    return (
        f"Made by **{family.label}** ({family.description}; preset `{condition.preset}`), "
        f"trained on the **{genre.label}** corpus of {condition.corpus_size} examples. "
        + (f"Song form `{condition.form}`. " if condition.form else "")
        + f"Seed **{condition.seed}**, temperature **{condition.temperature:g}**, "
        f"{condition.bars} bars at {clips.QPM:g} BPM ({_minutes(condition.bars * 2.0)}), "
        f"played on the {genre.kit_label} kit{loudness}."
    )


def show_clip(clip: clips.Clip, condition: clips.Condition, *, file_stem: str) -> None:
    """Audio first (playable at once), then downloads, the grid and the metrics."""
    st.markdown(describe(clip, condition))
    if clip.silent:
        st.warning(
            f"The model played **no drum hit at all** in these {condition.bars} bars, so there "
            "is nothing to hear. Generative models do this now and then (the thesis saw MusicVAE "
            'samples "lacking in drum content"). Try another seed or a lower temperature.',
            icon=":material/volume_off:",
        )
    elif clip.near_empty:
        st.warning(
            f"This generation is nearly empty: {clip.metrics['hits per bar']:.1f} drum hits per "
            "bar on average. Try another seed or a lower temperature.",
            icon=":material/volume_down:",
        )
    if clip.audio_bytes is not None:
        st.audio(clip.audio_bytes, format=clip.audio_mime)
    left, right, _ = st.columns([1, 1, 2])
    left.download_button(
        "Download MIDI",
        clip.midi_bytes,
        file_name=f"{file_stem}.mid",
        mime="audio/midi",
        icon=":material/download:",
        on_click="ignore",
        key=f"{file_stem}.mid",
    )
    if clip.audio_bytes is not None:
        right.download_button(
            f"Download audio ({clip.audio_format.upper()})",
            clip.audio_bytes,
            file_name=f"{file_stem}.{clip.audio_format}",
            mime=clip.audio_mime,
            icon=":material/download:",
            on_click="ignore",
            key=f"{file_stem}.audio",
        )
    share_link(file_stem)
    ids = clip.event_ids.astype("int32").tobytes()
    sections = clips.form_sections(condition)
    title = f"Drum grid, {clip.bars} bars (8 per row)" + (
        ", sections in orange" if sections else ""
    )
    st.image(cached.phrase_grid_png(ids, title, sections))
    with st.expander("Hits per bar over time"):
        st.image(cached.density_png(ids, "Hits per bar"))
    metrics_table(clip, condition.corpus)


def share_link(file_stem: str) -> None:
    base = (st.context.url or "").split("?")[0]
    with st.expander("Share this track", icon=":material/link:"):
        st.caption("The same link always plays the same track (generation is deterministic).")
        st.code(f"{base}?{urllib.parse.urlencode(_query())}", language=None)


def metrics_table(clip: clips.Clip, corpus: str) -> None:
    st.subheader("What the numbers say")
    reference = cached.corpus_reference(corpus)
    rows = {
        name: {
            "this track": f"{value:.2f}",
            f"training data ({corpus})": f"{reference[name]:.2f}",
            "what it means": clips.METRIC_MEANINGS[name],
        }
        for name, value in clip.metrics.items()
    }
    st.table(pd.DataFrame.from_dict(rows, orient="index"))  # a table wraps the long meanings
    st.caption("Training-data values are means over the corpus's training tracks.")


def blend_section(clip: clips.Clip, condition: clips.Condition) -> None:
    """MusicVAE only: a third clip part-way between this one and another seed."""
    if condition.model != "music_vae":
        return
    st.subheader("Blend with another seed")
    generation = clips.plan(condition)
    if not generation.decodes_whole_tracks:
        st.caption(
            f"The `{condition.preset}` preset decodes {generation.segment_bars}-bar pieces, "
            "so it cannot blend whole tracks. Choose `thesis-longbar` or `hier-60bar` to try it."
        )
        return
    query = _query()
    st.caption(
        "MusicVAE maps every track to a point in a latent space. This walks from this track's "
        "point towards another seed's and plays the track found on the way."
    )
    seed_field, mix_field, go = st.columns([2, 2, 1], vertical_alignment="bottom")
    default_seed = str(query.get("to_seed", (condition.seed + 1) % (clips.SEED_MAX + 1)))
    st.session_state.setdefault(_key("to_seed"), default_seed)
    st.session_state.setdefault(_key("mix"), float(query.get("mix", 0.5)))
    seed_field.text_input("Other seed", key=_key("to_seed"))
    mix_field.slider(
        "How far towards it", 0.1, 0.9, step=0.1, key=_key("mix"), help="0.5 = half way."
    )
    go.button("Blend", on_click=_on_blend, args=(condition,), icon=":material/merge:")
    field_error("to_seed")
    blend = None
    try:
        blend = clips.Interpolation.from_query(query)
    except clips.ConditionError as error:
        st.warning(f"This link's blend cannot be made: {error}")
    if blend is None or blend.start != condition:
        return
    blended = _limited_clip(
        blend.to_query(),
        "Blending…",
        condition,
        lambda progress: clips.make_interpolated_clip(blend, progress=progress),
        failure="Could not blend",
    )
    if blended is None:
        return
    st.markdown(
        f"**Blend**: {blend.mix:.0%} of the way from seed {condition.seed} "
        f"to seed {blend.end_seed}."
    )
    show_clip(blended, condition, file_stem=_file_stem(condition, f"-to{blend.end_seed}"))


def _on_blend(condition: clips.Condition) -> None:
    errors = st.session_state.setdefault(ERRORS_KEY, {})
    try:
        blend = clips.Interpolation(
            condition, st.session_state[_key("to_seed")], st.session_state[_key("mix")]
        )
    except clips.ConditionError as error:
        errors["to_seed" if error.field == "seed" else error.field] = str(error)
        return
    errors.pop("to_seed", None)
    _write_url(blend.to_query())
