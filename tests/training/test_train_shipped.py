"""`tools/train_shipped.sh` has one row per shipped checkpoint, and the row matches its card."""

import re
import shlex
import subprocess

import typer

from drumeval import cli
from drumeval.generate import CHECKPOINTS_DIR, list_shipped_checkpoints
from drumeval.models.checkpoints import read_card
from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "tools" / "train_shipped.sh"
START = r"fresh|warm|warm@[0-9a-f]+|from@[0-9a-f]+:\S+"  # from@REV:NAME: another checkpoint
ROW = re.compile(rf'^  "(\S+) (\S+) (\S+) (\d+) ({START}) (.*)"$')


def _rows() -> dict[str, tuple[int, str, list[str]]]:
    rows = {}
    for line in SCRIPT.read_text().splitlines():
        if match := ROW.match(line):
            model, preset, corpus, steps, start, flags = match.groups()
            name = f"{model}/{preset}/{corpus}"
            assert name not in rows, f"two rows for {name}"
            rows[name] = (int(steps), start, shlex.split(flags))
    return rows


def _option(flags: list[str], name: str) -> str | None:
    return flags[flags.index(name) + 1] if name in flags else None


def test_every_shipped_checkpoint_has_exactly_one_row():
    assert set(_rows()) == set(list_shipped_checkpoints())


def test_each_row_is_what_its_card_records():
    for name, (steps, _start, flags) in _rows().items():
        card = read_card(CHECKPOINTS_DIR / name)
        command = shlex.split(card["command"])
        assert command[:3] == ["drumeval", "train", card["model"]], name
        assert _option(command, "--preset") == card["preset"], name
        assert _option(command, "--corpus") == card["corpus"], name
        assert _option(command, "--steps") == str(steps) == str(card["training"]["steps"]), name
        assert (_option(flags, "--hparams") or "") == card["hparam_overrides"], name
        for option in ("--patience", "--eval-every", "--fidelity-every", "--eval-smoothing"):
            assert _option(flags, option) == _option(command, option), (name, option)


def test_a_row_started_from_another_checkpoint_says_so_in_its_card():
    started_elsewhere = {name: start for name, (_, start, _) in _rows().items() if "from@" in start}
    assert started_elsewhere, "the jazz-soul flat MusicVAEs start from techno-house-700 (issue 29)"
    for name, start in started_elsewhere.items():
        revision, source = start.removeprefix("from@").split(":")
        origin = read_card(CHECKPOINTS_DIR / name)["initialised_from"]["checkpoint"]
        assert origin.endswith(f"{revision}/{source}"), (name, origin)


def test_every_row_parses_as_a_train_command():
    cli._register_commands()
    group = typer.main.get_command(cli.app)
    train = group.commands["train"]
    for name, (steps, _start, flags) in _rows().items():
        model, preset, corpus = name.split("/")
        args = [model, "--preset", preset, "--corpus", corpus, "--steps", str(steps), *flags]
        context = train.make_context("train", args)  # raises on an unknown or malformed option
        assert context.params["steps"] == steps, name


def test_an_unknown_row_name_is_refused_before_anything_trains():
    result = subprocess.run(
        ["bash", str(SCRIPT), "all"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert "no row named 'all'" in result.stderr
    assert "music_vae/thesis-longbar/jazz-soul-700" in result.stderr
