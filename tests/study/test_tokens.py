"""Resume tokens: random, URL-safe, stored only as a hash, junk rejected before any query."""

import hashlib

import pytest

from drumeval.study.tokens import hash_token, looks_like_token, new_token


def test_new_tokens_are_url_safe_and_distinct():
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(looks_like_token(token) for token in tokens)


def test_the_hash_is_sha256_hex():
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()
    assert hash_token("é") == hashlib.sha256("é".encode()).hexdigest()


@pytest.mark.parametrize(
    "value",
    [None, 42, "", "short", "x" * 31, "x" * 33, "a" * 31 + "/", "a" * 31 + "=", "a" * 31 + "é"],
)
def test_junk_does_not_look_like_a_token(value):
    assert not looks_like_token(value)
