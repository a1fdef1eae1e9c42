from dataclasses import dataclass

import pytest

from drumeval.errors import ModelError
from drumeval.models.hparams import apply_overrides, parse_overrides


@dataclass(frozen=True)
class _Config:
    rnn_layer_sizes: tuple[int, ...] = (64, 64)
    attn_length: int = 64
    learning_rate: float = 1e-3
    sampling_schedule: str = "constant"
    residual: bool = False


def test_parse_handles_lists_and_bare_words():
    assert parse_overrides(
        "rnn_layer_sizes=[128, 128],attn_length=32,sampling_schedule=inverse_sigmoid"
    ) == {
        "rnn_layer_sizes": [128, 128],
        "attn_length": 32,
        "sampling_schedule": "inverse_sigmoid",
    }


def test_apply_returns_new_frozen_config_with_coerced_types():
    config = apply_overrides(_Config(), "rnn_layer_sizes=[128,128],learning_rate=1,residual=True")
    assert config == _Config(rnn_layer_sizes=(128, 128), learning_rate=1.0, residual=True)
    assert apply_overrides(_Config(), "") == _Config()


@pytest.mark.parametrize(("text", "value"), [("true", True), ("false", False), ("False", False)])
def test_a_flag_takes_the_spelling_its_error_message_asks_for(text, value):
    assert apply_overrides(_Config(residual=not value), f"residual={text}").residual is value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("attn_lenght=3", "unknown hparam"),
        ("attn_length", "name=value"),
        ("attn_length=[1]", "expects a int"),
        ("rnn_layer_sizes=64", "expects a list"),
        ("residual=1", "true/false"),
        ("residual=yes", "true/false"),
    ],
)
def test_bad_overrides_are_named_errors(text, message):
    with pytest.raises(ModelError, match=message):
        apply_overrides(_Config(), text)
