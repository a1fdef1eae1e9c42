"""Hyper-parameter overrides in Magenta's `--hparams` syntax, applied to frozen configs.

`apply_overrides(config, "rnn_layer_sizes=[128,128],attn_length=64")` returns a new config;
names are checked against the dataclass fields and values parsed as Python literals, so a
typo is an error instead of a silently ignored flag.
"""

import ast
import dataclasses
from typing import Any, TypeVar

from drumeval.errors import ModelError

ConfigT = TypeVar("ConfigT")


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside brackets or quotes."""
    parts, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def parse_overrides(text: str) -> dict[str, Any]:
    """`"a=1,b=[2,3],c=adam"` → `{"a": 1, "b": [2, 3], "c": "adam"}` (bare words are strings)."""
    overrides: dict[str, Any] = {}
    for item in _split_top_level(text):
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise ModelError(f"hparam override {item!r} is not of the form name=value")
        raw = raw.strip()
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        overrides[name.strip()] = value
    return overrides


def _coerce(name: str, value: Any, current: Any) -> Any:
    if isinstance(current, tuple):
        if not isinstance(value, list | tuple):
            raise ModelError(f"hparam {name} expects a list like [64,64], got {value!r}")
        return tuple(value)
    if isinstance(current, bool):
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"  # the message's own spelling: true/false
        if not isinstance(value, bool):
            raise ModelError(f"hparam {name} expects true/false (True/False), got {value!r}")
        return value
    if isinstance(current, int) and not isinstance(value, bool) and isinstance(value, int):
        return value
    if (
        isinstance(current, float)
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        return float(value)
    if isinstance(current, str) and isinstance(value, str):
        return value
    if current is None:
        return value
    raise ModelError(f"hparam {name} expects a {type(current).__name__}, got {value!r}")


def apply_overrides(config: ConfigT, overrides: str | dict[str, Any] | None) -> ConfigT:
    """A copy of the frozen dataclass `config` with the given fields replaced."""
    if not overrides:
        return config
    values = parse_overrides(overrides) if isinstance(overrides, str) else dict(overrides)
    fields = {field.name for field in dataclasses.fields(config)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ModelError(
            f"unknown hparam(s) {', '.join(unknown)}; valid names: {', '.join(sorted(fields))}"
        )
    coerced = {name: _coerce(name, value, getattr(config, name)) for name, value in values.items()}
    try:
        return dataclasses.replace(config, **coerced)
    except (TypeError, ValueError) as error:
        raise ModelError(f"invalid hparams: {error}") from error
