"""The admin password: generated once and stored hashed, constant-time checks, throttling."""

import json

import pytest

from drumeval.study import admin_auth
from drumeval.study.admin_auth import AdminAuthError, LoginThrottle, check_login


def test_a_password_is_generated_once_and_only_its_hash_is_kept(data_home):
    password = admin_auth.ensure_admin_password(environ={})
    assert password and len(password) >= 16
    path = admin_auth.secret_path()
    text = path.read_text()
    assert password not in text
    stored = json.loads(text)
    assert stored["algorithm"] == "scrypt" and len(bytes.fromhex(stored["salt"])) == 16
    assert path.stat().st_mode & 0o777 == 0o600
    assert admin_auth.ensure_admin_password(environ={}) is None  # printed once, never again
    source = admin_auth.password_source(environ={})
    assert source.matches(password) and not source.matches(password + "x")


def test_a_configured_password_is_never_replaced_by_a_generated_one(data_home):
    environ = {admin_auth.PASSWORD_ENV: "from-the-env"}
    assert admin_auth.ensure_admin_password(environ=environ) is None
    assert not admin_auth.secret_path().exists()
    assert admin_auth.password_source(environ=environ).matches("from-the-env")
    assert admin_auth.password_source(environ={}, secret_password="from-secrets").matches(
        "from-secrets"
    )


def test_no_password_configured_is_explained(data_home):
    assert admin_auth.password_source(environ={}) is None
    with pytest.raises(AdminAuthError, match="No admin password is configured"):
        check_login("anything", source=None, throttle=LoginThrottle(), now=0.0)


def test_a_damaged_password_file_is_explained(data_home):
    admin_auth.secret_path().parent.mkdir(parents=True)
    admin_auth.secret_path().write_text("{not json")
    with pytest.raises(AdminAuthError, match="damaged"):
        admin_auth.password_source(environ={})


def test_passwords_are_compared_as_hashes_in_constant_time(monkeypatch):
    compared: list[tuple[bytes, bytes]] = []
    real = admin_auth.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(admin_auth.hmac, "compare_digest", spy)
    source = admin_auth.password_source(environ={admin_auth.PASSWORD_ENV: "s3cret"})
    check_login("s3cret", source=source, throttle=LoginThrottle(), now=0.0)
    with pytest.raises(AdminAuthError, match="Wrong password"):
        check_login("guess", source=source, throttle=LoginThrottle(), now=0.0)
    assert len(compared) == 2
    for a, b in compared:
        assert len(a) == len(b) == 32 and b"s3cret" not in (a, b)


def test_failed_logins_are_throttled_then_locked_out():
    source = admin_auth.password_source(environ={admin_auth.PASSWORD_ENV: "right"})
    throttle = LoginThrottle(base_delay_s=1.0, max_failures=3, lockout_s=300.0)
    with pytest.raises(AdminAuthError, match="Wrong password"):
        check_login("wrong", source=source, throttle=throttle, now=100.0)
    with pytest.raises(AdminAuthError, match="try again in 1 s"):
        check_login("right", source=source, throttle=throttle, now=100.5)  # even the right one
    with pytest.raises(AdminAuthError, match="Wrong password"):
        check_login("wrong", source=source, throttle=throttle, now=101.5)
    assert throttle.wait_seconds(101.5) == pytest.approx(2.0)  # the delay doubles
    with pytest.raises(AdminAuthError, match="Wrong password"):
        check_login("wrong", source=source, throttle=throttle, now=104.0)
    with pytest.raises(AdminAuthError, match="locked for 5 min"):
        check_login("right", source=source, throttle=throttle, now=104.5)
    check_login("right", source=source, throttle=throttle, now=404.5)  # the window is over
    assert throttle.failures == 0 and throttle.wait_seconds(404.5) == 0


def test_overlong_passwords_are_refused_without_hashing():
    source = admin_auth.password_source(environ={admin_auth.PASSWORD_ENV: "right"})
    with pytest.raises(AdminAuthError, match="Wrong password"):
        check_login("x" * 10_000, source=source, throttle=LoginThrottle(), now=0.0)
