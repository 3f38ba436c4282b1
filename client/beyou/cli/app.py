"""What every `beyou` command shares: the state directory, the API client, the key file, output, errors."""
from __future__ import annotations

import functools
import os
import re
import uuid
from collections.abc import Callable
from typing import Any

import click
import requests

from beyou.api import Client, NotSignedIn, ProblemError, Session
from beyou.contacts import Contacts, KeyMismatch
from beyou.home import Home
from beyou.identity import KeyRegistrationError
from beyou.keystore import KeyFileError, Keyring
from beyou.keystore import load as load_keyring
from beyou.keystore import save as save_keyring
from beyou.ledger import LedgerClient
from beyou.messages import CannotSend, UnsealedAttachment
from beyou.output import Output

ENV_PASSPHRASE = "BEYOU_PASSPHRASE"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


class App:
    """The context of one `beyou` invocation (click's ctx.obj)."""

    def __init__(self, home: Home, server: str | None, json_mode: bool) -> None:
        self.home = home
        self._server = server
        self.out = Output(json_mode=json_mode)
        self._client: Client | None = None
        self._keyring: Keyring | None = None
        self._passphrase: str | None = None
        self._contacts: Contacts | None = None

    @property
    def json(self) -> bool:
        return self.out.json_mode

    @property
    def server(self) -> str:
        return (self._server or self.home.server()).rstrip("/")

    @property
    def client(self) -> Client:
        if self._client is None:
            # Every new token pair is stored at once: the refresh token it replaces no longer works.
            self._client = Client(self.server, session=self.home.load_session(), on_session=self.home.save_session)
        return self._client

    @property
    def session(self) -> Session:
        """The signed-in session (NotSignedIn without one)."""
        if self.client.session is None:
            raise NotSignedIn("not signed in")
        return self.client.session

    @property
    def me(self) -> str:
        user_id = self.session.user_id
        if not user_id:
            raise NotSignedIn("the stored session names no user: sign in again")
        return user_id

    # --- the key file -------------------------------------------------------------

    def has_keys(self) -> bool:
        return self.home.keys_file.exists()

    def passphrase(self, *, new: bool = False) -> str:
        if self._passphrase is None:
            self._passphrase = os.environ.get(ENV_PASSPHRASE) or click.prompt(
                "New passphrase for your key file" if new else "Key file passphrase", hide_input=True,
                confirmation_prompt=new, err=True)
        if not self._passphrase:
            raise click.UsageError("the key file needs a passphrase")
        return self._passphrase

    def keyring(self) -> Keyring:
        """The opened key file (asks for the passphrase once)."""
        if self._keyring is None:
            if not self.has_keys():
                raise KeyFileError(f"no key file in {self.home.path}: run `beyou keys generate` first")
            keyring = load_keyring(self.home.keys_file, self.passphrase())
            signed_in = self.client.session.user_id if self.client.session else None
            if keyring.owner_id and signed_in and keyring.owner_id != signed_in:
                raise KeyFileError(f"the key file in {self.home.path} belongs to another account "
                                   f"({keyring.owner_id}): use --home (or BEYOU_HOME) for each account")
            self._keyring = keyring
        return self._keyring

    def keyring_if_any(self) -> Keyring | None:
        return self.keyring() if self.has_keys() else None

    def new_keyring(self, owner_id: str | None) -> Keyring:
        self.passphrase(new=True)
        self._keyring = Keyring(owner_id=owner_id, keys=[])
        return self._keyring

    def save_keyring(self) -> None:
        assert self._keyring is not None
        self.home.ensure()
        save_keyring(self.home.keys_file, self._keyring, self.passphrase())

    def contacts(self) -> Contacts:
        if self._contacts is None:
            self.home.ensure()
            # Contacts' keys are checked in the ledger before first use, with the verifier key `beyou ledger` trusts.
            contacts = Contacts(self.home.contacts_file, owner_id=self.me,
                                ledger=LedgerClient.through(self.client, self.home.path))
            if contacts.owner_id != self.me:
                raise KeyFileError(f"the contacts in {self.home.path} are another account's ({contacts.owner_id}): "
                                   "use --home (or BEYOU_HOME) for each account")
            self._contacts = contacts
        return self._contacts

    def home_owner(self) -> str | None:
        """The account whose contacts this home holds, if any."""
        return Contacts(self.home.contacts_file).owner_id if self.home.contacts_file.exists() else None

    # --- names -----------------------------------------------------------------------

    def user_id(self, name: str) -> str:
        """A user's id from a username (with or without @) or an id."""
        name = name.strip()
        if _UUID.match(name):
            return str(uuid.UUID(name))
        return str(self.client.profile(name.lstrip("@"))["user_id"])

    def conversation_id(self, name: str) -> str:
        """A conversation id, or for @username the direct conversation with that user (made if needed)."""
        name = name.strip()
        if _UUID.match(name):
            return str(uuid.UUID(name))
        if name.startswith("@"):
            return str(self.client.create_direct_conversation(self.user_id(name))["id"])
        raise click.BadParameter(f"{name!r} is neither a conversation id nor @username")


pass_app = click.make_pass_decorator(App)


def json_option(command: Callable) -> Callable:
    """`--json` on a command, as well as before it (`beyou --json CMD`)."""
    def turn_on(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.find_object(App).out.json_mode = True
    return click.option("--json", "json_flag", is_flag=True, expose_value=False, callback=turn_on, is_eager=True,
                        help="Print JSON (for scripts) instead of text.")(command)


def reports_errors(command: Callable) -> Callable:
    """Turn the errors a user can act on into a clear message and exit status 1 (no traceback)."""
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        out = click.get_current_context().find_object(App).out
        try:
            return command(*args, **kwargs)
        except click.UsageError:
            raise                       # click shows it with the usage line (exit status 2)
        except click.ClickException as error:
            out.error(error.format_message())
            raise SystemExit(error.exit_code) from None
        except ProblemError as problem:
            out.problem(problem)
            if problem.status == 401:
                out.note("You are signed out (or your session was revoked): beyou login")
        except NotSignedIn as error:
            out.error(f"{error}: beyou login")
        except (KeyFileError, KeyRegistrationError, KeyMismatch, CannotSend, UnsealedAttachment) as error:
            out.error(str(error))
        except requests.ConnectionError as error:
            out.error(f"cannot reach the server: {error.request.url if error.request else error}")
        except requests.Timeout:
            out.error("the server did not answer in time")
        raise SystemExit(1)
    return run


class Group(click.Group):
    """A group whose commands all report errors as above."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if cmd.callback is not None and not isinstance(cmd, click.Group):
            cmd.callback = reports_errors(cmd.callback)
        super().add_command(cmd, name)
