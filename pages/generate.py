"""Generate a 2-minute track, listen to it, and see its drum grid and metrics."""

import streamlit as st

from drumeval import metrics
from drumeval.errors import DrumevalError
from drumeval.generate import DEFAULT_PRESETS, list_shipped_checkpoints
from pages.common import GENRES, MODEL_LABELS, figure_to_png

st.title("Generate & listen")

shipped = list_shipped_checkpoints()
if not shipped:
    st.warning("No trained checkpoint is shipped yet: train one with `drumeval train`.")
    st.stop()

with st.form("generate"):
    left, middle, right = st.columns(3)
    model = left.radio("Model", list(MODEL_LABELS), format_func=MODEL_LABELS.get)
    genre = middle.radio("Genre", GENRES)
    size = right.radio("Corpus size", ("700", "1500"), horizontal=True)
    left, middle, right = st.columns(3)
    temperature = left.slider("Temperature", 0.1, 2.0, 1.0, 0.05)
    seed = middle.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0)
    bars = right.slider("Bars", 4, 60, 60, 4, help="60 bars = 2 minutes at 120 qpm")
    submitted = st.form_submit_button("Generate", type="primary")


@st.cache_data(show_spinner=False, max_entries=64)
def generate_clip(model: str, corpus: str, temperature: float, seed: int, bars: int) -> dict:
    """Generate, render and draw one track (cached per request)."""
    from drumeval.audio import kit_for_genre, render_track
    from drumeval.data.midi import event_ids_to_pretty_midi
    from drumeval.generate import generate

    track = generate(model, corpus=corpus, num=1, bars=bars, temperature=temperature, seed=seed)[0]
    genre = corpus.rsplit("-", 1)[0]
    clip = render_track(track.event_ids, kit=kit_for_genre(genre))
    midi_bytes = _midi_bytes(event_ids_to_pretty_midi(track.event_ids))
    return {
        "event_ids": track.event_ids,
        "audio": clip.path.read_bytes(),
        "format": clip.format,
        "midi": midi_bytes,
        "near_empty": track.extra.get("near_empty", False),
    }


def _midi_bytes(midi) -> bytes:
    import io

    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


if submitted:
    corpus = f"{genre}-{size}"
    if f"{model}/{DEFAULT_PRESETS[model]}/{corpus}" not in shipped:
        st.info(f"No shipped {MODEL_LABELS[model]} checkpoint for {corpus} yet.")
        st.stop()
    try:
        with st.spinner("Generating and rendering…"):
            result = generate_clip(model, corpus, float(temperature), int(seed), int(bars))
    except DrumevalError as error:
        st.error(str(error))
        st.stop()
    if result["near_empty"]:
        st.warning("This sample is nearly empty (the thesis saw MusicVAE do this too).")
    st.audio(result["audio"], format=f"audio/{result['format']}")
    st.download_button(
        "Download MIDI", result["midi"], file_name=f"{model}-{corpus}-{seed}.mid", mime="audio/midi"
    )
    from drumeval.plots import density_figure, drum_grid_figure

    st.image(figure_to_png(drum_grid_figure(result["event_ids"])))
    st.image(figure_to_png(density_figure(result["event_ids"])))
    st.subheader("Objective metrics")
    st.dataframe(
        {name: [round(value, 3)] for name, value in metrics.summary(result["event_ids"]).items()}
    )
