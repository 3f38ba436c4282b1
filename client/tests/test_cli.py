"""The `beyou` command, offline: help everywhere, the key file, and failures as clear errors with exit 1."""
from __future__ import annotations

import json
import stat

import click
import pytest
from click.testing import CliRunner

from beyou.cli import cli

NOWHERE = "http://127.0.0.1:9"   # nothing listens on the discard port


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def beyou(home, monkeypatch):
    """`beyou(*args)`: run the command in its own home, against a server that is not there."""
    monkeypatch.delenv("BEYOU_SERVER", raising=False)
    runner = CliRunner()

    def run(*args: str, passphrase: str = "a long passphrase", input: str | None = None):
        return runner.invoke(cli, ["--home", str(home), "--server", NOWHERE, *args], input=input,
                             env={"BEYOU_PASSPHRASE": passphrase, "BEYOU_HOME": None})
    return run


def commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def test_every_command_answers_help():
    runner = CliRunner()
    paths = list(commands(cli))
    assert {"register", "login", "logout", "2fa", "sessions", "password-reset", "keys", "conversations", "send",
            "read", "attach", "watch"} <= {path[0] for path in paths}
    for path in [(), *paths]:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.output


def test_keys_are_generated_into_a_private_home_and_an_encrypted_file(beyou, home):
    result = beyou("keys", "generate", "--no-register")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "keys.json").stat().st_mode) == 0o600
    assert "PRIVATE KEY" not in (home / "keys.json").read_text()
    listed = beyou("keys", "list", "--json")
    assert listed.exit_code == 0, listed.output
    keys = json.loads(listed.stdout)["keys"]
    assert [(key["purpose"], key["algorithm"], key["status"]) for key in keys] == [
        ("signing", "ed25519", "pending"), ("encryption", "x25519", "pending")]


def test_keys_are_not_generated_over_an_existing_key_file(beyou):
    assert beyou("keys", "generate", "--no-register").exit_code == 0
    again = beyou("keys", "generate", "--no-register")
    assert again.exit_code == 1 and "beyou keys rotate" in again.stderr


def test_a_wrong_passphrase_is_a_clear_error(beyou):
    beyou("keys", "generate", "--no-register")
    result = beyou("keys", "list", passphrase="not the passphrase")
    assert result.exit_code == 1
    assert "wrong passphrase" in result.stderr and "Traceback" not in result.output


def test_a_command_that_needs_a_session_says_to_sign_in(beyou):
    result = beyou("conversations", "list")
    assert result.exit_code == 1
    assert "not signed in: beyou login" in result.stderr


def test_errors_are_json_on_stderr_with_json(beyou):
    result = beyou("--json", "conversations", "list")
    assert result.exit_code == 1 and result.stdout == ""
    assert json.loads(result.stderr)["error"].startswith("not signed in")


def test_a_server_that_cannot_be_reached_is_a_clear_error(beyou):
    result = beyou("login", "--username", "alice", "--password", "secret")
    assert result.exit_code == 1
    assert "cannot reach the server" in result.stderr and "Traceback" not in result.output


def test_a_conversation_must_be_an_id_or_an_at_username(beyou, home):
    home.mkdir(mode=0o700)
    (home / "session.json").write_text(json.dumps({
        "access_token": "a.b.c", "refresh_token": "r", "expires_at": 4102444800, "user_id": "u", "username": "bob"}))
    result = beyou("send", "--standard", "general", "hi")
    assert result.exit_code == 2 and "neither a conversation id nor @username" in result.stderr
