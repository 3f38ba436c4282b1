"""Key commands (generate, register, rotate, list, fingerprint, verify, passphrase) and contacts."""
from __future__ import annotations

import click
from rich.text import Text

from beyou import identity
from beyou import keys as keylib
from beyou.cli.app import App, Group, json_option, pass_app
from beyou.contacts import Contact
from beyou.keystore import change_passphrase
from beyou.output import qr, table, text, when


def register_commands(cli: Group) -> None:
    cli.add_command(keys)
    cli.add_command(contacts)


@click.group(cls=Group)
def keys() -> None:
    """Your end-to-end keys: made and kept on this device (encrypted with a passphrase), public halves
    registered with the server.

    `beyou keys monitor` checks every key the ledger holds for your account against this key file.
    """


def _family(rsa: bool) -> str:
    return "rsa" if rsa else "ed25519"


@keys.command("generate")
@click.option("--rsa", is_flag=True, help="RSA-3072 keys instead of Ed25519 (signing) and X25519 (encryption).")
@click.option("--register/--no-register", default=True, show_default=True,
              help="Register the public halves with the server now.")
@json_option
@pass_app
def keys_generate(app: App, rsa: bool, register: bool) -> None:
    """Make your signing and encryption key pairs and store them in a new key file."""
    if app.has_keys():
        raise click.ClickException(f"{app.home.keys_file} exists: use `beyou keys rotate` for new keys, "
                                   "or `beyou keys register` to register pending ones")
    # Registering needs a session: check it before anything is made; the key file is bound to this account.
    keyring = app.new_keyring(owner_id=app.me if register else None)
    made = identity.add_new_keys(keyring, _family(rsa))
    app.save_keyring()
    registered = identity.register_pending(app.client, keyring, app.save_keyring) if register else []
    _report_keys(app, made, registered)


@keys.command("register")
@json_option
@pass_app
def keys_register(app: App) -> None:
    """Register the keys made but not registered yet (e.g. after --no-register, or a failed attempt)."""
    keyring = app.keyring()
    pending = [key for key in keyring.keys if key.status == "pending"]
    if not pending:
        raise click.ClickException("no pending keys: every key in the key file is registered")
    _report_keys(app, pending, identity.register_pending(app.client, keyring, app.save_keyring))


@keys.command("rotate")
@click.option("--rsa", is_flag=True, help="RSA-3072 keys instead of Ed25519/X25519.")
@click.option("--only", type=click.Choice(keylib.PURPOSES), help="Rotate one key only (default: both).")
@json_option
@pass_app
def keys_rotate(app: App, rsa: bool, only: str | None) -> None:
    """New key pairs replace your active ones; the old ones stay in the key file to read old messages."""
    keyring = app.keyring()
    made = identity.add_new_keys(keyring, _family(rsa), (only,) if only else keylib.PURPOSES)
    app.save_keyring()
    _report_keys(app, made, identity.register_pending(app.client, keyring, app.save_keyring))


def _report_keys(app: App, made: list[keylib.KeyPair], registered: list[keylib.KeyPair]) -> None:
    if app.json:
        app.out.json([{"purpose": key.purpose, "algorithm": key.algorithm, "fingerprint": key.fingerprint,
                       "status": key.status} for key in made])
        return
    for key in made:
        state = "registered" if key in registered else "not registered yet (beyou keys register)"
        app.out.print(Text(f"{key.purpose:<10} {key.algorithm:<7} ") + Text(key.fingerprint, style="bold")
                      + Text(f"  {state}", style="green" if key in registered else "yellow"))


@keys.command("list")
@json_option
@pass_app
def keys_list(app: App) -> None:
    """The keys in your key file, and whether the server's active keys are the ones you hold."""
    keyring = app.keyring()
    on_server = identity.server_keys(app.client) if app.client.session else {}
    if app.json:
        app.out.json({"keys": [{"purpose": key.purpose, "algorithm": key.algorithm, "fingerprint": key.fingerprint,
                                "status": key.status, "created_at": key.created_at,
                                "registered_at": key.registered_at, "retired_at": key.retired_at}
                               for key in keyring.keys],
                      "server_active": {purpose: key["fingerprint"] for purpose, key in on_server.items()}})
        return
    rows = table("purpose", "algorithm", "fingerprint", "status", "created")
    for key in keyring.keys:
        rows.add_row(key.purpose, key.algorithm, key.fingerprint, key.status, when(key.created_at))
    app.out.print(rows)
    for purpose, key in on_server.items():
        local = keyring.active(purpose)
        if local is None or local.fingerprint != key["fingerprint"]:
            app.out.warn(f"the server's active {purpose} key is {key['fingerprint']}, not one this key file holds "
                         "as active: registered from another device, or not by you")


@keys.command("fingerprint")
@json_option
@pass_app
def keys_fingerprint(app: App) -> None:
    """Your active fingerprints (and a QR code) for a contact to compare with what their device shows."""
    keyring = app.keyring()
    signing, encryption = keyring.active("signing"), keyring.active("encryption")
    if not signing or not encryption:
        raise click.ClickException("you have no registered keys: beyou keys generate")
    if app.json:
        app.out.json({"user_id": app.me, "signing": signing.fingerprint, "encryption": encryption.fingerprint})
        return
    _show_safety_number(app, app.me, app.session.username, signing.fingerprint, encryption.fingerprint)


@keys.command("verify")
@click.argument("user")
@click.option("--yes", is_flag=True, help="Mark verified without asking (you compared the fingerprints already).")
@json_option
@pass_app
def keys_verify(app: App, user: str, yes: bool) -> None:
    """Compare USER's fingerprints with them out of band (in person, a call) and mark them verified."""
    user_id = app.user_id(user)
    if user_id == app.me:
        raise click.ClickException("that is you: show your contact `beyou keys fingerprint` instead")
    active = {key["purpose"]: key for key in app.client.user_keys(user_id, active=True)}
    if "signing" not in active or "encryption" not in active:
        raise click.ClickException(f"{user} has not registered keys yet")
    book = app.contacts()
    username = None if user_id == user.strip() else user.strip().lstrip("@")
    check = book.observe(user_id, username, {"signing": active["signing"], "encryption": active["encryption"]})
    book.save()
    if check.warning:
        app.out.warn(check.warning)
    contact = check.contact
    if not app.json:
        _show_safety_number(app, user_id, contact.username, contact.signing.fingerprint,
                            contact.encryption.fingerprint)
    if not yes and not click.confirm(f"Does {contact.username or user_id}'s device show exactly these "
                                     "fingerprints for you to compare?", err=True):
        app.out.note("Not marked verified.")
        if app.json:
            app.out.json(_contact_json(contact))
        return
    book.mark_verified(user_id)
    book.save()
    if app.json:
        app.out.json(_contact_json(contact))
    else:
        app.out.print(Text(f"{contact.username or user_id} is verified.", style="green"))


def _show_safety_number(app: App, user_id: str, username: str | None, signing: str, encryption: str) -> None:
    app.out.print(Text(f"{username or user_id}", style="bold") + Text(f"  {user_id}", style="dim"))
    app.out.print(Text("signing    ") + Text(keylib.grouped(signing), style="bold"))
    app.out.print(Text("encryption ") + Text(keylib.grouped(encryption), style="bold"))
    app.out.print(Text(qr(safety_payload(user_id, signing, encryption))))


def safety_payload(user_id: str, signing: str, encryption: str) -> str:
    """What the QR code holds: a scanner compares it with the keys it holds for that user."""
    return f"beyou-keys:v1:{user_id}:{signing}:{encryption}"


@keys.command("passphrase")
@pass_app
def keys_passphrase(app: App) -> None:
    """Change the key file's passphrase."""
    old = app.passphrase()
    new = click.prompt("New passphrase", hide_input=True, confirmation_prompt=True, err=True)
    change_passphrase(app.home.keys_file, old, new)
    app.out.print("Passphrase changed.")


# --- contacts ---------------------------------------------------------------------------------

@click.group(cls=Group)
def contacts() -> None:
    """The people whose keys this device has pinned (on first use) and verified."""


@contacts.command("list")
@json_option
@pass_app
def contacts_list(app: App) -> None:
    """Your contacts, their pinned keys, and whether you verified them."""
    everyone = app.contacts().all()
    if app.json:
        app.out.json([_contact_json(contact) for contact in everyone])
        return
    rows = table("user", "signing key", "encryption key", "verified", "earlier keys", "ledger")
    for contact in everyone:
        rows.add_row(text(contact.username or contact.user_id),
                     text(contact.signing.fingerprint[:16] if contact.signing else "—"),
                     text(contact.encryption.fingerprint[:16] if contact.encryption else "—"),
                     Text("yes", style="green") if contact.verified else Text("no", style="yellow"),
                     text(len(contact.previous)), _ledger_badge(contact))
    app.out.print(rows)


def _ledger_badge(contact: Contact) -> Text:
    if contact.not_in_ledger:
        return Text("✘ not in ledger", style="bold yellow")
    keys_ = [key for key in (contact.signing, contact.encryption) if key]
    if keys_ and all(key.in_ledger for key in keys_):
        return Text("✔ in ledger", style="green")
    return Text("not checked", style="dim")


def _contact_json(contact: Contact) -> dict:
    return {"user_id": contact.user_id, "username": contact.username, "verified": contact.verified,
            "verified_at": contact.verified_at,
            "signing": contact.signing.fingerprint if contact.signing else None,
            "encryption": contact.encryption.fingerprint if contact.encryption else None,
            "previous": [key.fingerprint for key in contact.previous],
            "not_in_ledger": [key.fingerprint for key in contact.not_in_ledger]}
