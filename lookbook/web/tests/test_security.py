"""The brief's security: headers, CORS, secrets, rate limits (in memory and shared through Redis), TLS."""

from __future__ import annotations

import io
import logging
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace

import pytest

from conftest import garment_photo
from lookbook.web import create_app
from lookbook.web.settings import ConfigurationError, Settings
from lookbook.web.tests.conftest import PASSWORD, register


def test_every_answer_carries_the_security_headers(client):
    for response in (client.get("/api/v1/products"), client.get("/api/v1/nope"), client.get("/api/v1/me")):
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP: HSTS would be ignored


def test_hsts_is_sent_over_https(client):
    response = client.get("/api/v1/products", base_url="https://localhost")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_cross_origin_requests_are_refused_unless_the_origin_is_configured(settings, catalog):
    default = create_app(settings, catalog=catalog).test_client()
    answer = default.get("/api/v1/products", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in answer.headers

    shop = create_app(replace(settings, cors_origins=("https://shop.example",)), catalog=catalog).test_client()
    allowed = shop.options("/api/v1/products", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "GET"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    other = shop.get("/api/v1/products", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_production_refuses_to_start_without_secrets_and_reads_them_from_files(lookbook_env, monkeypatch, tmp_path):
    monkeypatch.setenv("LOOKBOOK_ENV", "production")
    for name in ("SECRET_KEY", "TOKEN_SIGNING_KEY"):
        monkeypatch.delenv(f"LOOKBOOK_{name}", raising=False)
        monkeypatch.delenv(f"LOOKBOOK_{name}_FILE", raising=False)
    with pytest.raises(ConfigurationError, match="LOOKBOOK_SECRET_KEY"):
        Settings.from_env()

    monkeypatch.setenv("LOOKBOOK_SECRET_KEY", "too-short")
    monkeypatch.setenv("LOOKBOOK_TOKEN_SIGNING_KEY", "t" * 40)
    with pytest.raises(ConfigurationError, match="at least 32"):
        Settings.from_env()

    secret_file = tmp_path / "secret_key"
    secret_file.write_text("s" * 40 + "\n")
    monkeypatch.delenv("LOOKBOOK_SECRET_KEY")
    monkeypatch.setenv("LOOKBOOK_SECRET_KEY_FILE", str(secret_file))
    settings = Settings.from_env()
    assert settings.secret_key == "s" * 40 and settings.production
    assert "s" * 40 not in repr(settings) and "t" * 40 not in repr(settings)
    assert not (lookbook_env / "secrets").exists()  # production never invents secrets


def test_development_secrets_are_generated_once_private_and_shared_by_workers(lookbook_env, monkeypatch):
    monkeypatch.delenv("LOOKBOOK_ENV", raising=False)
    first, second = Settings.from_env(), Settings.from_env()
    assert first.token_signing_key == second.token_signing_key and len(first.token_signing_key) >= 32
    assert os.stat(lookbook_env / "secrets" / "token_signing_key").st_mode & 0o077 == 0


def test_access_tokens_live_at_most_fifteen_minutes(lookbook_env, monkeypatch):
    monkeypatch.setenv("LOOKBOOK_ACCESS_TOKEN_MINUTES", "60")
    with pytest.raises(ConfigurationError, match="at most 15"):
        Settings.from_env()
    monkeypatch.setenv("LOOKBOOK_ACCESS_TOKEN_MINUTES", "5")
    assert Settings.from_env().access_token_ttl.total_seconds() == 300


def test_no_secret_or_password_reaches_the_log(settings, catalog, caplog):
    caplog.set_level(logging.DEBUG)
    client = create_app(settings, catalog=catalog).test_client()
    body = register(client, email="ada@example.com")
    client.post("/api/v1/auth/login", json={"email": "ada@example.com", "password": "a wrong password"})
    client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})  # reuse: logged as revoked

    logged = caplog.text
    for secret in (settings.secret_key, settings.token_signing_key, PASSWORD, "a wrong password",
                   body["refresh_token"], body["access_token"]):
        assert secret not in logged


def _limited_app(settings, catalog, **limits):
    return create_app(replace(settings, rate_limits_enabled=True, **limits), catalog=catalog)


def test_login_is_rate_limited_and_the_limit_is_configuration(settings, catalog):
    client = _limited_app(settings, catalog, rate_limit_login="3 per minute").test_client()
    attempts = [client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "x" * 12})
                for _ in range(4)]
    assert [a.status_code for a in attempts] == [401, 401, 401, 429]
    assert attempts[-1].json["error"]["code"] == "rate_limited" and attempts[-1].headers["Retry-After"]


def test_registration_and_photo_search_are_rate_limited(settings, catalog):
    client = _limited_app(settings, catalog, rate_limit_register="1 per minute",
                          rate_limit_search="2 per minute").test_client()
    register(client)
    second = client.post("/api/v1/auth/register", json={"email": "b@example.com", "password": PASSWORD, "name": "B"})
    assert second.status_code == 429

    photo = garment_photo("bag", "red")
    codes = [client.post("/api/v1/search/image", data={"image": (io.BytesIO(photo), "a.png")}).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get("/api/v1/products").status_code == 200  # browsing is not limited


def test_replicas_sharing_redis_enforce_one_limit(settings, catalog, redis_url):
    replicas = [_limited_app(settings, catalog, rate_limit_login="4 per minute",
                             rate_limit_storage=redis_url).test_client() for _ in range(2)]
    login = {"email": "a@example.com", "password": "x" * 12}
    codes = [replicas[i % 2].post("/api/v1/auth/login", json=login).status_code for i in range(6)]
    assert codes == [401, 401, 401, 401, 429, 429]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_https_answers_over_tls_with_hsts(lookbook_env, catalog):
    port = _free_port()
    env = {**os.environ, "LOOKBOOK_RATE_LIMITS": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "lookbook.cli", "serve", "--https", "--port", str(port), "--workers", "1", "--threads", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            cert = lookbook_env / "tls" / "cert.pem"
            try:
                context = ssl.create_default_context(cafile=str(cert))
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=context, timeout=5) as answer:
                    assert answer.status == 200
                    assert "max-age" in answer.headers["Strict-Transport-Security"]
                    break
            except (OSError, ssl.SSLError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        with pytest.raises(urllib.error.URLError) as refused:  # a client that does not trust the certificate
            urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=ssl.create_default_context(), timeout=5)
        assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_production_takes_no_test_card_payments_unless_the_sandbox_is_switched_on(lookbook_env, monkeypatch):
    from lookbook.web.app import payment_providers

    monkeypatch.setenv("LOOKBOOK_ENV", "production")
    monkeypatch.setenv("LOOKBOOK_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("LOOKBOOK_TOKEN_SIGNING_KEY", "t" * 40)
    assert "sandbox" not in payment_providers(Settings.from_env())
    monkeypatch.setenv("LOOKBOOK_SANDBOX_PAYMENTS", "1")
    assert "sandbox" in payment_providers(Settings.from_env())
    monkeypatch.delenv("LOOKBOOK_ENV")
    monkeypatch.delenv("LOOKBOOK_SANDBOX_PAYMENTS")
    assert "sandbox" in payment_providers(Settings.from_env())  # development: the sandbox is the way to pay
