"""The ledger, checked on this device: a message's inclusion, the latest checkpoint, a key's registration,
contacts' keys again, and `keys monitor` (every key ever logged for my account)."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from rich.text import Text

from beyou.api import ProblemError
from beyou.cli.app import App, Group, json_option, pass_app
from beyou.cli.keys import keys as keys_group
from beyou.ledger import (ENV_VKEY, FINGERPRINT, STATE_FILE, CheckpointReport, LedgerClient, LedgerVerificationError, LogForked,
                          MonitoredKey, Trust, VerifierKey, VerifierKeyChanged, Verdict, monitor_keys)
from beyou.output import table, text, when


def register_commands(cli: Group) -> None:
    cli.add_command(ledger)
    # `keys` is defined with the other key commands; monitoring them against the ledger lives here, with the ledger.
    keys_group.add_command(keys_monitor)


def ledger_of(app: App, vkey: str | None) -> LedgerClient:
    return LedgerClient.through(app.client, app.home.path, vkey)


def _verifier_key(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value:
        try:
            VerifierKey.parse(value)
        except LedgerVerificationError as error:
            raise click.BadParameter(str(error)) from None
    return value


vkey_option = click.option(
    "--vkey", envvar=ENV_VKEY, metavar="VKEY", callback=_verifier_key,
    help=f"The ledger's verifier key (name+id+key) to trust and pin, instead of trusting the one the server "
         f"serves on first use ({ENV_VKEY}).")


def reports_ledger_errors(command: Callable) -> Callable:
    """A ledger that does not verify is an error shown loudly, a forked one loudest (exit status 1)."""
    @functools.wraps(command)
    def run(app: App, *args: Any, **kwargs: Any) -> Any:
        try:
            return command(app, *args, **kwargs)
        except LogForked as fork:
            state = app.home.path / STATE_FILE
            app.out.error(f"THE LEDGER FORKED OR REWROTE ITS HISTORY: its signed checkpoint of {fork.served.tree_size} "
                          f"leaves is not consistent with the one of {fork.known.tree_size} leaves this device "
                          f"verified before ({fork.reason}). Both signed checkpoints are kept in {state} as evidence; "
                          "this device keeps trusting the one it verified before.",
                          details={"known": fork.known.as_dict(), "served": fork.served.as_dict()})
        except VerifierKeyChanged as error:
            app.out.error(f"THE LEDGER'S KEY CHANGED: {error}")
        except LedgerVerificationError as error:
            app.out.error(f"the ledger's answer does not verify: {error}")
        raise SystemExit(1)
    return run


@click.group(cls=Group)
def ledger() -> None:
    """The ledger: the public, append-only log of every message and every public key, checked on this device
    (inclusion proofs, signed checkpoints, and that the log never rewrites what this device saw)."""


@ledger.command("verify")
@click.argument("message_id", type=click.UUID)
@vkey_option
@json_option
@pass_app
@reports_ledger_errors
def ledger_verify(app: App, message_id: Any, vkey: str | None) -> None:
    """Prove that message MESSAGE_ID is in the ledger: its record, its inclusion in the latest signed
    checkpoint, and that checkpoint's consistency with the last one this device verified."""
    _show_verdict(app, ledger_of(app, vkey).verify_message(str(message_id)))


@ledger.command("key")
@click.argument("fingerprint")
@vkey_option
@json_option
@pass_app
@reports_ledger_errors
def ledger_key(app: App, fingerprint: str, vkey: str | None) -> None:
    """Prove that the key FINGERPRINT's registration is in the ledger (and say if it was revoked)."""
    if not FINGERPRINT.fullmatch(fingerprint.strip().lower()):
        raise click.BadParameter("a key fingerprint is 64 hex digits", param_hint="FINGERPRINT")
    _show_verdict(app, ledger_of(app, vkey).verify_key(fingerprint))


@ledger.command("checkpoint")
@vkey_option
@json_option
@pass_app
@reports_ledger_errors
def ledger_checkpoint(app: App, vkey: str | None) -> None:
    """The ledger's latest checkpoint, its signature verified and its consistency with the last one this
    device verified proven; fails if the ledger's own audit reports tampering."""
    try:
        report = ledger_of(app, vkey).latest_checkpoint()
    except ProblemError as problem:
        if problem.status != 404:
            raise
        raise click.ClickException("the ledger has no checkpoint yet: no block has been mined") from None
    _show_checkpoint(app, report)
    if report.integrity == "failed":
        app.out.error("the ledger's own audit found stored records that were changed (integrity: failed): "
                      "ask its operator; `beyou ledger verify` still checks each proof against signed checkpoints")
        raise SystemExit(1)


@ledger.command("contacts")
@vkey_option
@json_option
@pass_app
@reports_ledger_errors
def ledger_contacts(app: App, vkey: str | None) -> None:
    """Check every contact's current keys in the ledger again: a key now proven loses its "not in ledger"
    flag. Exits 1 while any key is not proven."""
    book = app.contacts()
    book.ledger = ledger_of(app, vkey)
    warnings = book.recheck_ledger()
    book.save()
    rows = [(contact, key) for contact in book.all() for key in (contact.signing, contact.encryption) if key]
    if app.json:
        app.out.json([{"user_id": contact.user_id, "username": contact.username, "purpose": key.purpose,
                       "fingerprint": key.fingerprint, "ledger": key.ledger, "problem": key.ledger_problem}
                      for contact, key in rows])
    elif not rows:
        app.out.print("No contacts yet: keys are pinned (and checked in the ledger) when you first talk to someone.")
    else:
        shown = table("user", "key", "fingerprint", "ledger")
        for contact, key in rows:
            shown.add_row(text(contact.username or contact.user_id), text(key.purpose), text(key.fingerprint[:16]),
                          Text("✔ in ledger", style="green") if key.in_ledger else Text("✘ not in ledger",
                                                                                          style="bold yellow"))
        app.out.print(shown)
        for warning in warnings:
            app.out.warn(warning)
    if any(not key.in_ledger for _, key in rows):
        raise SystemExit(1)


@click.command("monitor")
@vkey_option
@json_option
@pass_app
@reports_ledger_errors
def keys_monitor(app: App, vkey: str | None) -> None:
    """Every key ever logged for your account, from the ledger: each must be in this device's key file.
    A key that is not was registered for you elsewhere — on another device, or by someone else.
    Exits 1 if there is such a key, or one whose proof fails."""
    me = app.me
    keyring = app.keyring_if_any()
    report = monitor_keys(ledger_of(app, vkey), me, keyring)
    if app.json:
        app.out.json({"user_id": me, "keys": [_monitored_json(key) for key in report.keys],
                      "not_mine": [key.logged.fingerprint for key in report.strangers],
                      "unlogged": report.unlogged})
    else:
        _show_monitor(app, report.keys, keyring is None)
    for key in report.strangers:
        app.out.error(f"key {key.logged.fingerprint} ({key.logged.purpose}, logged {key.logged.created_at}) was "
                      "registered for your account and is NOT one of this device's keys: registered from another "
                      "device, or by someone who has your password. If it is not yours: change your password "
                      "(beyou password-reset) and sign out other sessions (beyou sessions revoke --others).")
    for fingerprint in report.unlogged:
        app.out.warn(f"your active key {fingerprint} is not in the ledger (yet): the ledger logs in blocks")
    if report.strangers or any(key.verdict.status == "failed" for key in report.keys):
        raise SystemExit(1)


# --- showing -------------------------------------------------------------------------------------

def _show_verdict(app: App, verdict: Verdict) -> None:
    if verdict.trust:
        _show_trust(app, verdict.trust)
    if app.json:
        app.out.json(verdict.as_dict())
    else:
        app.out.print(Text(f"{verdict.subject} ", style="bold") + text(verdict.id))
        checkpoint = verdict.checkpoint
        _line(app, "leaf index", verdict.leaf_index)
        _line(app, "block", verdict.block_height)
        _line(app, "tree size", checkpoint.tree_size if checkpoint else None)
        _line(app, "checkpoint", checkpoint.origin if checkpoint else None)
        if checkpoint:
            _line(app, "consistency", _consistency(verdict.previous_size))
        if verdict.removed:
            _line(app, "removed", "by moderation (the log keeps its record)")
        if verdict.revocation:
            _line(app, "revoked", verdict.revocation.deactivated_at.isoformat(timespec="seconds"))
        if verdict.verified:
            app.out.print(Text("✔ verified", style="bold green")
                          + Text(f": in the ledger, proven against its signed checkpoint of {checkpoint.tree_size} "
                                 "leaves"))
        else:
            app.out.print(Text("✘ NOT verified", style="bold red") + Text(f" ({verdict.status}): ")
                          + text(verdict.problem))
    if not verdict.verified:
        raise SystemExit(1)


def _show_checkpoint(app: App, report: CheckpointReport) -> None:
    _show_trust(app, report.trust)
    checkpoint = report.checkpoint
    if app.json:
        app.out.json({**checkpoint.as_dict(), "integrity": report.integrity, "verified": True,
                      "previous_tree_size": report.previous_size, "vkey": report.trust.key.text,
                      "vkey_trust": report.trust.source})
        return
    _line(app, "origin", checkpoint.origin)
    _line(app, "tree size", checkpoint.tree_size)
    _line(app, "root", checkpoint.as_dict()["root_hash"])
    _line(app, "integrity", report.integrity)
    _line(app, "consistency", _consistency(report.previous_size))
    _line(app, "verifier key", report.trust.key.text)
    app.out.print(Text("✔ verified", style="bold green") + Text(f": signed by {checkpoint.origin}"))


def _show_trust(app: App, trust: Trust) -> None:
    if trust.source == "tofu":
        app.out.note(Text(f"Trusting the ledger's verifier key on first use: {trust.key.text}\nIt is pinned in "
                          f"{app.home.path / STATE_FILE}; compare it with the one the ledger's operator publishes. "
                          "A different key from now on is an error.", style="yellow"))
    elif trust.replaced:
        app.out.warn(f"the verifier key given replaces {trust.replaced}, pinned before")


def _consistency(previous_size: int | None) -> str:
    if previous_size is None:
        return "the first checkpoint this device verified (nothing to compare with)"
    return f"consistent with the checkpoint of {previous_size} leaves this device verified before"


def _line(app: App, label: str, value: Any) -> None:
    app.out.print(Text(f"  {label:<13}", style="dim") + text("—" if value is None else value))


def _show_monitor(app: App, keys: list[MonitoredKey], no_key_file: bool) -> None:
    if no_key_file:
        app.out.warn(f"no key file in {app.home.path}: no logged key can be recognised as this device's")
    if not keys:
        app.out.print("The ledger holds no key for your account (yet).")
        return
    rows = table("purpose", "algorithm", "fingerprint", "logged", "state", "whose", "proof")
    for key in keys:
        logged = key.logged
        state = Text("revoked ", style="dim") + when(logged.revoked_at) if logged.revoked_at else Text("active")
        whose = Text("mine (in the key file)", style="green") if key.mine else Text("✘ NOT ONE OF MINE",
                                                                                      style="bold red")
        rows.add_row(text(logged.purpose), text(logged.algorithm), text(logged.fingerprint), when(logged.created_at),
                     state, whose, _proof(key.verdict))
    app.out.print(rows)


def _proof(verdict: Verdict) -> Text:
    if verdict.verified:
        return Text("✔ verified", style="green")
    style = "bold red" if verdict.status == "failed" else "yellow"
    return Text(f"✘ {verdict.status}: ", style=style) + text(verdict.problem)


def _monitored_json(key: MonitoredKey) -> dict:
    logged = key.logged
    return {"fingerprint": logged.fingerprint, "purpose": logged.purpose, "algorithm": logged.algorithm,
            "created_at": logged.created_at, "revoked_at": logged.revoked_at, "leaf_index": logged.leaf_index,
            "block_height": logged.block_height, "mine": key.mine, "ledger": key.verdict.status,
            "problem": key.verdict.problem}
