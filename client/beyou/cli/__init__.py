"""The `beyou` command: a terminal client of the BeYou platform.

    beyou register | login | logout | whoami | 2fa ... | sessions ... | password-reset
    beyou keys generate | register | rotate | list | fingerprint | verify USER | passphrase | monitor
    beyou contacts list            beyou friends add | requests | accept | list
    beyou ledger verify MESSAGE_ID | checkpoint | key FINGERPRINT | contacts
    beyou conversations create | list | show | add | remove | leave
    beyou send | attach | read | watch

Every command has --help, prints text for people or --json for scripts, and exits
non-zero on failure with the server's problem shown as a clear error.
"""
from __future__ import annotations

from pathlib import Path

import click

from beyou import __version__
from beyou.cli import account, keys, ledger, messaging, people
from beyou.cli.app import App, Group
from beyou.home import ENV_HOME, ENV_SERVER, Home


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar=ENV_HOME,
              help=f"Where this client keeps its session, key file and contacts (default ~/.beyou; {ENV_HOME}).")
@click.option("--server", envvar=ENV_SERVER, metavar="URL",
              help=f"The BeYou server (default: the last one used, else http://127.0.0.1:8080; {ENV_SERVER}).")
@click.option("--json", "json_mode", is_flag=True, help="Print JSON (for scripts) instead of text.")
@click.version_option(__version__, prog_name="beyou")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, server: str | None, json_mode: bool) -> None:
    """BeYou in the terminal: your account, your keys, end-to-end encrypted conversations."""
    ctx.obj = App(Home(home), server, json_mode)


for module in (account, keys, people, messaging, ledger):
    module.register_commands(cli)


def main() -> None:
    cli(prog_name="beyou")
