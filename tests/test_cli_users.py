"""`lookbook users create-admin`: the only way to an admin account, never with a default password."""

from __future__ import annotations

from click.testing import CliRunner

from lookbook.cli import main
from lookbook.web import create_app
from lookbook.web.settings import Settings


def _login(email: str, password: str):
    app = create_app(Settings.from_env(rate_limits_enabled=False))
    return app.test_client().post("/api/v1/auth/login", json={"email": email, "password": password})


def test_create_admin_with_a_password_from_stdin_can_log_in_as_admin(lookbook_env):
    result = CliRunner().invoke(main, ["users", "create-admin", "--email", "Boss@Example.com", "--password-stdin"],
                                input="a long admin password\n")
    assert result.exit_code == 0, result.output
    assert "admin boss@example.com created" in result.output

    answer = _login("boss@example.com", "a long admin password")
    assert answer.status_code == 200 and answer.json["role"] == "admin" and answer.json["home"] == "/admin"


def test_create_admin_can_generate_a_password_and_prints_it_once(lookbook_env):
    result = CliRunner().invoke(main, ["users", "create-admin", "--email", "ops@example.com", "--generate-password"])
    assert result.exit_code == 0, result.output
    password = result.output.split("password: ")[1].strip()
    assert len(password) >= 20
    assert _login("ops@example.com", password).json["role"] == "admin"


def test_create_admin_refuses_a_weak_password_and_a_taken_email(lookbook_env):
    weak = CliRunner().invoke(main, ["users", "create-admin", "--email", "a@example.com", "--password-stdin"],
                              input="short\n")
    assert weak.exit_code != 0 and "at least 10 characters" in weak.output
    CliRunner().invoke(main, ["users", "create-admin", "--email", "a@example.com", "--generate-password"])
    taken = CliRunner().invoke(main, ["users", "create-admin", "--email", "A@example.com", "--generate-password"])
    assert taken.exit_code != 0 and "already exists" in taken.output
