import numpy as np
import pytest
from matplotlib.figure import Figure

from drumeval.data.drum_classes import NUM_DRUM_CLASSES
from drumeval.plots import (
    density_figure,
    drum_grid_figure,
    phrase_grid_figure,
    save_figure,
)

KICK, SNARE, CLOSED_HIHAT = 1, 2, 4


@pytest.fixture
def two_bars_and_a_half() -> np.ndarray:
    ids = np.zeros(40, dtype=np.int32)
    ids[0:32:4] |= KICK  # 4 kicks per bar
    ids[4:32:8] |= SNARE  # 2 snares per bar
    ids[32:40:2] |= CLOSED_HIHAT  # half a bar of hats
    return ids


def test_grid_shows_the_roll_with_class_names_and_bar_lines():
    ids = np.zeros(960, dtype=np.int32)
    ids[::4] = KICK
    figure = drum_grid_figure(ids, title="sixty bars")
    assert isinstance(figure, Figure)
    axes = figure.axes[0]
    assert axes.get_title() == "sixty bars"
    labels = [tick.get_text() for tick in axes.get_yticklabels()]
    assert labels[0] == "kick" and labels[-1] == "ride" and len(labels) == 9
    image = axes.get_images()[0].get_array()
    assert image.shape == (9, 960) and image[0].sum() == 240 and image[1:].sum() == 0
    widths = sorted({line.get_linewidth() for line in axes.get_lines()})
    assert len(axes.get_lines()) == 59 and widths == [0.4, 1.2]  # 14 phrase lines stronger
    assert sum(line.get_linewidth() == 1.2 for line in axes.get_lines()) == 14
    assert figure.get_figwidth() >= 15  # ~1 inch per 4 bars keeps 16ths apart


def test_density_plots_the_total_per_bar(two_bars_and_a_half):
    figure = density_figure(two_bars_and_a_half)
    total_axes, class_axes = figure.axes[:2]
    # whole bars, as `metrics.hits_per_bar` counts them: the half bar of hats is dropped
    np.testing.assert_array_equal(total_axes.get_lines()[0].get_ydata(), [6, 6])
    assert class_axes.get_images()[0].get_array().shape == (NUM_DRUM_CLASSES, 2)


def test_save_figure_writes_a_png(tmp_path, two_bars_and_a_half):
    path = save_figure(drum_grid_figure(two_bars_and_a_half), tmp_path / "sub" / "grid.png")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_batch_of_tracks_is_refused():
    with pytest.raises(ValueError, match="one track"):
        drum_grid_figure(np.zeros((2, 16), dtype=np.int32))


def test_phrase_grid_folds_sixty_bars_into_readable_eight_bar_rows():
    ids = np.zeros(960, dtype=np.int32)
    ids[::4] = KICK
    ids[4::8] |= SNARE
    figure = phrase_grid_figure(ids, title="sixty bars")
    rows = figure.axes
    assert len(rows) == 8  # 7 rows of 8 bars + one of 4
    assert rows[0].get_title() == "sixty bars"
    assert [rows[0].get_ylabel(), rows[-1].get_ylabel()] == ["bars 1–8", "bars 57–60"]
    labels = [tick.get_text() for tick in rows[0].get_yticklabels()]
    assert labels[0] == "kick" and labels[-1] == "ride"
    assert min(tick.get_fontsize() for tick in rows[0].get_yticklabels()) >= 8
    hits = np.concatenate([axes.collections[0].get_offsets() for axes in rows])
    assert len(hits) == 240 + 120  # every kick and snare is its own square
    assert set(hits[:, 1].tolist()) == {0.0, 1.0}
    assert [t.get_text() for t in rows[-1].get_xticklabels()] == [f"bar {b}" for b in range(57, 61)]
    assert figure.get_figheight() >= 8 * 1.5  # a lane per class stays legible


def test_phrase_grid_marks_each_section_start_in_its_row():
    ids = np.zeros(20 * 16, dtype=np.int32)
    sections = ((0, "intro"), (4, "drop"), (12, "breakdown"))
    figure = phrase_grid_figure(ids, sections=sections)
    first, second, _ = figure.axes
    assert [text.get_text() for text in first.texts] == ["intro", "drop"]
    assert [text.get_text() for text in second.texts] == ["breakdown"]
    thick = [line.get_xdata()[0] for line in second.lines if line.get_linewidth() > 2]
    assert thick == [(12 - 8) * 16 - 0.5]  # bar 13 starts 4 bars into the second row
    assert not phrase_grid_figure(ids).axes[0].texts


def test_phrase_grid_of_a_short_track_is_one_row(two_bars_and_a_half):
    figure = phrase_grid_figure(two_bars_and_a_half, bars_per_row=8)
    assert len(figure.axes) == 1
    assert figure.axes[0].get_ylabel() == "bars 1–3"
    with pytest.raises(ValueError, match="bars_per_row"):
        phrase_grid_figure(two_bars_and_a_half, bars_per_row=0)
