"""Shipping: copy a run's checkpoint into `checkpoints/`, its fidelity and grid; Magenta import."""

import shutil
from pathlib import Path
from typing import Any

from drumeval.data.drum_classes import STEPS_PER_BAR
from drumeval.errors import ModelError
from drumeval.models.checkpoints import (
    MODEL_FILE,
    load_checkpoint,
    read_card,
    save_checkpoint,
    update_card,
)
from drumeval.training.families import CHECKPOINTS_DIR, build_config, check_model_name
from drumeval.training.fidelity import (
    FIDELITY_SEED,
    STANDARD_SETTINGS,
    checkpoint_fidelity,
    sample_tracks,
)

MAX_SHIPPED_MB = 20.0
GRID_FILE = "grid.png"  # the first bars of one seeded sample, for docs/models.md
GRID_BARS = 16


def shipped_fidelity(
    name: str, *, recompute: bool = False, write_card: bool = False
) -> dict[str, Any]:
    """The fidelity report (card form) of shipped checkpoint `model/preset/corpus`.

    Read from its card when the card holds one made with the standard protocol; otherwise
    (or with `recompute`) sampled now, and stored in the card with `write_card`.
    """
    directory = CHECKPOINTS_DIR / name
    stored = read_card(directory).get("fidelity")
    if stored and stored.get("settings") == STANDARD_SETTINGS and not recompute:
        return stored
    report = checkpoint_fidelity(directory).to_card()
    if write_card:
        update_card(directory, {"fidelity": report})
        write_grid(directory)
    return report


def ship_checkpoint(final_dir: str | Path, checkpoints_dir: str | Path | None = None) -> Path:
    """Copy a run's final checkpoint to `checkpoints/<model>/<preset>/<corpus>/` (size-checked)."""
    final_dir = Path(final_dir)
    card = read_card(final_dir)
    size_mb = (final_dir / MODEL_FILE).stat().st_size / 1e6
    if size_mb > MAX_SHIPPED_MB:
        raise ModelError(
            f"{final_dir} is {size_mb:.1f} MB; shipped checkpoints must be ≤ {MAX_SHIPPED_MB} MB"
        )
    target = (
        Path(checkpoints_dir or CHECKPOINTS_DIR) / card["model"] / card["preset"] / card["corpus"]
    )
    target.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, "card.json"):
        shutil.copy2(final_dir / name, target / name)
    curves = final_dir.parent / "curves.png"
    if curves.is_file():
        shutil.copy2(curves, target / "curves.png")
    write_grid(target)
    return target


def write_grid(directory: str | Path) -> Path:
    """Save the drum grid of the first `GRID_BARS` bars of the seed-7 sample of a checkpoint."""
    from drumeval.plots.figures import drum_grid_figure, save_figure  # matplotlib: ≈0.3 s

    directory = Path(directory)
    network, card = load_checkpoint(directory)
    track = sample_tracks(card["model"], network, num=1, genre=card.get("genre"))[0]
    track = track[: GRID_BARS * STEPS_PER_BAR]
    title = f"{card['model']} {card['preset']} · {card['corpus']} (seed {FIDELITY_SEED}, T=1)"
    return save_figure(drum_grid_figure(track, title=title), directory / GRID_FILE, dpi=80)


def import_magenta_checkpoint(
    model: str,
    source: str | Path,
    out: str | Path,
    *,
    config: str = "cat-drums_2bar_small",
    hparams: str = "",
) -> Path:
    """Convert a real Magenta checkpoint (`.mag` or TF checkpoint) into a drumeval checkpoint."""
    check_model_name(model)
    import drumeval.models  # noqa: F401  (selects the JAX backend)

    if model == "drums_rnn":
        from drumeval.models.magenta_io import drums_rnn as magenta

        network = magenta.import_magenta(source, hparams=hparams or None)
        preset = "magenta-import"
    else:
        from drumeval.models.magenta_io import music_vae as magenta

        preset = config
        network = magenta.import_magenta(source, build_config(model, config, hparams))
    card = {
        "model": model,
        "preset": preset,
        "hparams": network.config.to_dict(),
        "corpus": None,
        "imported_from": str(source),
        "note": "weights converted from a Magenta checkpoint; not trained by drumeval",
    }
    return save_checkpoint(network, out, card)
