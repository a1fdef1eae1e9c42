"""Audio: drum rendering with genre kits, loudness matching, browser encodings.

`render()` is the entry point the app and the study call; the rest are pure helpers.
Its default engine mixes FluidSynth-rendered one-shots in numpy (`mixer`, `oneshots`);
`RenderSettings(engine="fluidsynth")` runs FluidSynth on the whole clip.
"""

from drumeval.audio.encode import FORMATS, encode
from drumeval.audio.kits import (
    GENRE_KITS,
    KITS,
    check_kit_available,
    kit_for_genre,
    kit_program,
    soundfont_presets,
)
from drumeval.audio.loudness import (
    apply_fades,
    measure_loudness,
    plan_level,
    true_peak_dbtp,
)
from drumeval.audio.pipeline import (
    ENGINES,
    MAX_CLIP_SECONDS,
    RenderedClip,
    RenderSettings,
    common_target_lufs,
    musical_end_s,
    render,
    render_many,
    render_track,
    resolve_cache_dir,
)
from drumeval.audio.synth import find_fluidsynth, find_soundfont

__all__ = [
    "ENGINES",
    "FORMATS",
    "GENRE_KITS",
    "KITS",
    "MAX_CLIP_SECONDS",
    "RenderSettings",
    "RenderedClip",
    "apply_fades",
    "check_kit_available",
    "common_target_lufs",
    "encode",
    "find_fluidsynth",
    "find_soundfont",
    "kit_for_genre",
    "kit_program",
    "measure_loudness",
    "musical_end_s",
    "plan_level",
    "render",
    "render_many",
    "render_track",
    "resolve_cache_dir",
    "soundfont_presets",
    "true_peak_dbtp",
]
