"""Account commands: register, login, logout, whoami, 2fa, sessions, password-reset."""
from __future__ import annotations

import mimetypes
from pathlib import Path

import click
import requests
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from beyou.api import MfaRequired, ProblemError
from beyou.cli.app import App, Group, json_option, pass_app
from beyou.output import qr, table, text, when

ENV_PASSWORD = "BEYOU_PASSWORD"


def _password_option(prompt: str = "Password", confirm: bool = False):
    return click.option("--password", envvar=ENV_PASSWORD, prompt=prompt, hide_input=True,
                        confirmation_prompt=confirm, help=f"Your password (or set {ENV_PASSWORD}; asked if not given).")


def register_commands(cli: Group) -> None:
    for command in (register, login, logout, whoami, sessions, two_factor, password_reset, verification):
        cli.add_command(command)


@click.command()
@click.option("--username", prompt=True, help="3 to 32 characters: letters, digits, '_' and '.'.")
@click.option("--email", prompt=True)
@click.option("--phone", prompt=True, help="E.164, e.g. +14155550123.")
@_password_option(confirm=True)
@json_option
@pass_app
def register(app: App, username: str, email: str, phone: str, password: str) -> None:
    """Create an account (solves the server's proof-of-work challenge first)."""
    with Progress(TextColumn("solving the registration challenge"), BarColumn(), TimeElapsedColumn(),
                  console=app.out.errors, transient=True, disable=app.json) as progress:
        task = progress.add_task("pow", total=None)

        def advance(tried: int, expected: int) -> None:
            # The search has no end known in advance: show it against the expected number of tries.
            progress.update(task, completed=min(tried, expected), total=expected)

        account = app.client.register(username=username, email=email, phone=phone, password=password,
                                      progress=advance)
    app.home.set_server(app.server)
    if app.json:
        app.out.json(account)
        return
    app.out.print(Text("Account created: ", style="green") + text(account["username"]) + Text(f" ({account['id']})"))
    app.out.note("Next: beyou login, then beyou keys generate")


@click.command()
@click.option("--username", prompt="Username or email")
@_password_option()
@click.option("--code", help="A TOTP or recovery code, if 2FA is on (asked for when needed).")
@json_option
@pass_app
def login(app: App, username: str, password: str, code: str | None) -> None:
    """Sign in (with the second factor when 2FA is on)."""
    _end_previous_session(app)
    outcome = app.client.login(username, password)
    if isinstance(outcome, MfaRequired):
        code = code or click.prompt("Authentication code (or a recovery code)", err=True)
        outcome = app.client.login_2fa(outcome.mfa_token, code)
    app.home.set_server(app.server)
    keyring_owner_warning(app)
    if app.json:
        app.out.json({"user_id": outcome.user_id, "username": outcome.username, "session_id": outcome.session_id})
        return
    app.out.print(Text("Signed in as ", style="green") + text(outcome.username) + Text(f" ({outcome.user_id})"))
    if not app.has_keys():
        app.out.note("No keys on this device yet: beyou keys generate")


def _end_previous_session(app: App) -> None:
    """Signing in again replaces this home's session: sign the old one out rather than leave it open."""
    if app.client.session is None:
        return
    try:
        app.client.logout()
    except (ProblemError, requests.RequestException):
        app.client.session = None       # the server cannot be told: the session will expire by itself


def keyring_owner_warning(app: App) -> None:
    """This home holds another account's contacts (and so its keys): say so at once."""
    owner = app.home_owner()
    if owner and owner != app.me:
        app.out.warn(f"this home ({app.home.path}) holds the keys and contacts of another account ({owner}); "
                     "use --home (or BEYOU_HOME) for each account")


@click.command()
@json_option
@pass_app
def logout(app: App) -> None:
    """Sign out: the server revokes this session."""
    app.client.logout()
    if app.json:
        app.out.json({"signed_out": True})
    else:
        app.out.print("Signed out.")


@click.command()
@json_option
@pass_app
def whoami(app: App) -> None:
    """The signed-in account."""
    account = app.client.me()
    if app.json:
        app.out.json(account)
        return
    app.out.print(text(account["username"]) + Text(f"  {account['id']}", style="dim"))
    app.out.print(Text(f"verified: {'yes' if account['verified'] else 'no'}   "
                       f"2FA: {'on' if account['totp_enabled'] else 'off'}   server: {app.server}"))


# --- sessions ------------------------------------------------------------------------------

@click.group(cls=Group)
def sessions() -> None:
    """Your sessions (devices): list and revoke."""


@sessions.command("list")
@click.option("--limit", type=click.IntRange(1, 100), default=None)
@click.option("--cursor", default=None, help="The next_cursor of the previous page.")
@json_option
@pass_app
def sessions_list(app: App, limit: int | None, cursor: str | None) -> None:
    """Your sessions, newest first."""
    page = app.client.sessions(limit=limit, cursor=cursor)
    if app.json:
        app.out.json(page)
        return
    rows = table("id", "created", "last used", "ip", "user agent", "state")
    for item in page["items"]:
        state = "this one" if item["current"] else ("revoked" if item["revoked"] else "active")
        rows.add_row(text(item["id"]), when(item["created_at"]), when(item["last_used_at"]), text(item["ip"]),
                     text(item["user_agent"]), Text(state, style="green" if item["current"] else ""))
    app.out.print(rows)
    if page.get("next_cursor"):
        app.out.note(f"more: --cursor {page['next_cursor']}")


@sessions.command("revoke")
@click.argument("session_id", required=False)
@click.option("--others", is_flag=True, help="Revoke every session but this one.")
@json_option
@pass_app
def sessions_revoke(app: App, session_id: str | None, others: bool) -> None:
    """Revoke one session (signs that device out), or --others."""
    if others == bool(session_id):
        raise click.UsageError("give a SESSION_ID or --others")
    if others:
        count = app.client.revoke_other_sessions()
        app.out.json({"revoked": count}) if app.json else app.out.print(f"Revoked {count} other session(s).")
        return
    app.client.revoke_session(session_id)
    app.out.json({"revoked": 1}) if app.json else app.out.print("Session revoked.")


# --- 2FA ---------------------------------------------------------------------------------------

@click.group("2fa", cls=Group)
def two_factor() -> None:
    """Two-factor authentication (TOTP): setup, confirm, disable, new recovery codes."""


@two_factor.command("setup")
@_password_option()
@json_option
@pass_app
def two_factor_setup(app: App, password: str) -> None:
    """Start 2FA: prints the otpauth URI and its QR code for an authenticator app (off until confirmed)."""
    setup = app.client.setup_2fa(password)
    if app.json:
        app.out.json({"secret": setup["secret"], "otpauth_uri": setup["otpauth_uri"]})
        return
    app.out.print("Scan this with your authenticator app:")
    app.out.print(Text(qr(setup["otpauth_uri"])))
    app.out.print(Text("URI:    ") + text(setup["otpauth_uri"]))
    app.out.print(Text("Secret: ") + text(setup["secret"]))
    app.out.note("Then: beyou 2fa confirm CODE (2FA is off until then)")


@two_factor.command("confirm")
@click.argument("code")
@json_option
@pass_app
def two_factor_confirm(app: App, code: str) -> None:
    """Turn 2FA on with a current code; prints your one-time recovery codes (shown only now)."""
    _show_recovery_codes(app, app.client.confirm_2fa(code), "2FA is on.")


@two_factor.command("disable")
@_password_option()
@click.option("--code", prompt="Authentication code (or a recovery code)")
@json_option
@pass_app
def two_factor_disable(app: App, password: str, code: str) -> None:
    """Turn 2FA off (password and a current code)."""
    app.client.disable_2fa(password, code)
    app.out.json({"totp_enabled": False}) if app.json else app.out.print("2FA is off.")


@two_factor.command("recovery-codes")
@click.argument("code")
@json_option
@pass_app
def two_factor_recovery_codes(app: App, code: str) -> None:
    """Replace your recovery codes (the old ones stop working)."""
    _show_recovery_codes(app, app.client.new_recovery_codes(code), "New recovery codes.")


def _show_recovery_codes(app: App, codes: list[str], headline: str) -> None:
    if app.json:
        app.out.json({"recovery_codes": codes})
        return
    app.out.print(Text(headline, style="green"))
    app.out.print("Recovery codes (each works once; keep them somewhere safe, they are not shown again):")
    for code in codes:
        app.out.print(Text(f"  {code}"))


# --- password reset ------------------------------------------------------------------------------

@click.command("password-reset")
@click.option("--login", "login_name", prompt="Username or email")
@click.option("--code", help="A TOTP or recovery code (2FA on), else the one-time code sent to you; asked if not given.")
@click.option("--new-password", envvar="BEYOU_NEW_PASSWORD", help="Asked if not given.")
@json_option
@pass_app
def password_reset(app: App, login_name: str, code: str | None, new_password: str | None) -> None:
    """Reset a forgotten password: start, prove it is you with a code, set the new password."""
    started = app.client.start_password_reset(login_name)
    code = code or click.prompt("Code (authenticator or recovery code if 2FA is on, else the one sent to you)",
                                err=True)
    app.client.verify_password_reset(started["reset_id"], code)
    new_password = new_password or click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
    app.client.confirm_password_reset(started["reset_id"], new_password)
    if app.json:
        app.out.json({"reset": True})
        return
    app.out.print("Password changed. Every session was signed out: beyou login")


# --- identity verification ------------------------------------------------------------------------

@click.group(cls=Group)
def verification() -> None:
    """Identity verification: verified users create groups and send attachments."""


@verification.command("request")
@click.argument("document", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reason", prompt=True, help="Why you ask (for the staff who review it).")
@json_option
@pass_app
def verification_request(app: App, document: Path, reason: str) -> None:
    """Ask to be verified with an ID DOCUMENT (JPEG, PNG or PDF, at most 5 MB)."""
    content_type = mimetypes.guess_type(document.name)[0] or "application/octet-stream"
    answer = app.client.request_verification(document.read_bytes(), filename=document.name,
                                             content_type=content_type, reason=reason)
    app.out.json(answer) if app.json else app.out.print(f"Verification requested ({answer['id']}): "
                                                        "staff will review it.")


@verification.command("list")
@json_option
@pass_app
def verification_list(app: App) -> None:
    """Your verification requests and their decisions."""
    page = app.client.verification_requests()
    if app.json:
        app.out.json(page)
        return
    rows = table("id", "status", "sent", "decided", "notes")
    for item in page["items"]:
        rows.add_row(text(item["id"]), text(item["status"]), when(item["created_at"]), when(item["decided_at"]),
                     text(item.get("notes")))
    app.out.print(rows)
