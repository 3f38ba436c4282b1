"""The auth service's own CLI: `flask --app auth create-staff` (there are no default credentials),
`flask --app auth rotate-data-key`."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from marshmallow import ValidationError
from servicekit.context import service_resource, service_settings
from servicekit.db import database
from servicekit.errors import DomainError

from auth import data_keys
from auth.accounts import create_staff_account
from auth.moderation import promote_to_staff
from auth.schemas import RegistrationSchema


@click.command("create-staff")
@click.option("--username", help="The new staff account's username.")
@click.option("--email", help="Its email address.")
@click.option("--phone", help="Its phone number (E.164, e.g. +41791234567).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--promote", metavar="USERNAME", help="Give an existing account the staff role instead.")
@with_appcontext
def create_staff(username: str | None, email: str | None, phone: str | None, password_stdin: bool,
                 promote: str | None) -> None:
    """Create a staff account (the password is prompted for), or promote an existing one."""
    with database().session() as session:
        try:
            if promote:
                user = promote_to_staff(session, promote)
                click.echo(f"{user.username} ({user.id}) is now staff")
                return
            if not (username and email and phone):
                raise click.UsageError("give --username, --email and --phone (or --promote USERNAME)")
            account = RegistrationSchema(exclude=("challenge",)).load(
                {"username": username, "email": email, "phone": phone, "password": _read_password(password_stdin)})
            user = create_staff_account(session, **account)
        except ValidationError as error:  # the same field rules as registration through the API
            raise click.ClickException(_describe(error.messages)) from None
        except DomainError as error:
            raise click.ClickException(_describe(error.errors) or error.detail) from None
    click.echo(f"created staff account {user.username} ({user.id})")


@click.command("rotate-data-key")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(min=1),
              help="Rows re-encrypted per transaction.")
@with_appcontext
def rotate_data_key(batch_size: int) -> None:
    """Re-encrypt TOTP secrets, signing keys and identity documents under the newest DATA_KEYS key.

    Safe to run again: what is already under the newest key is skipped, so an interrupted run is finished
    by running it again. See docs/operations-data-keys.md.
    """
    report = data_keys.rotate_data_key(database(), service_resource("cipher"), service_resource("documents"),
                                       newest_key=service_settings().data_keys[0], batch_size=batch_size)
    for kind, counts in report.items():
        click.echo(f"{kind.replace('_', ' ')}: {counts.rotated} re-encrypted, "
                   f"{counts.current} already under the newest key, {counts.unreadable} unreadable")
    unreadable = sum(counts.unreadable for counts in report.values())
    if unreadable:
        raise click.ClickException(f"{unreadable} stored value(s) open with no key of DATA_KEYS and were left "
                                   "as they are (the log names them)")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _describe(errors: dict | None) -> str:
    return "; ".join(f"{field}: {' '.join(map(str, messages))}" for field, messages in (errors or {}).items())
