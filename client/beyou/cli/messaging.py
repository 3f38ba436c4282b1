"""Messaging commands: conversations, send, attach, read, watch."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.text import Text

from beyou import messages
from beyou.api import ProblemError
from beyou.cli.app import App, Group, json_option, pass_app
from beyou.messages import File, Read
from beyou.output import table, text, trust_badge, when


def register_commands(cli: Group) -> None:
    for command in (conversations, send, attach, read, watch):
        cli.add_command(command)


CONVERSATION_HELP = "A conversation id, or @username for your direct conversation with that user."


# --- conversations ---------------------------------------------------------------------------

@click.group(cls=Group)
def conversations() -> None:
    """Your conversations: direct (two people) and groups (made from your friends)."""


@conversations.command("create")
@click.option("--with", "with_user", metavar="USER", help="A direct conversation with USER (the existing one if any).")
@click.option("--group", "group_name", metavar="NAME", help="A group with this name (you must be verified).")
@click.option("--member", "members", multiple=True, metavar="USER", help="A member of the group (one of your "
                                                                         "friends); repeat for each.")
@json_option
@pass_app
def conversations_create(app: App, with_user: str | None, group_name: str | None, members: tuple[str, ...]) -> None:
    """Start a direct conversation (--with USER) or a group (--group NAME --member USER ...)."""
    if bool(with_user) == bool(group_name):
        raise click.UsageError("give --with USER, or --group NAME with --member USER ...")
    if with_user:
        conversation = app.client.create_direct_conversation(app.user_id(with_user))
    else:
        conversation = app.client.create_group(group_name, [app.user_id(member) for member in members])
    if app.json:
        app.out.json(conversation)
        return
    app.out.print(Text("Conversation ", style="green") + text(conversation["id"]))
    _show_conversation(app, conversation)


@conversations.command("list")
@click.option("--limit", type=click.IntRange(1, 100), default=None)
@click.option("--cursor", default=None, help="The next_cursor of the previous page.")
@json_option
@pass_app
def conversations_list(app: App, limit: int | None, cursor: str | None) -> None:
    """Your conversations, the latest activity first, with unread counts."""
    page = app.client.conversations(limit=limit, cursor=cursor)
    if app.json:
        app.out.json(page)
        return
    rows = table("id", "type", "name / with", "last message", "unread")
    for item in page["items"]:
        rows.add_row(text(item["id"]), text(item["type"]), text(_title(app, item)), when(item.get("last_message_at")),
                     Text(str(item.get("unread_count") or 0), style="bold" if item.get("unread_count") else "dim"))
    app.out.print(rows)
    if page.get("next_cursor"):
        app.out.note(f"more: --cursor {page['next_cursor']}")


def _title(app: App, conversation: dict) -> str:
    if conversation["type"] == "group":
        return conversation.get("name") or ""
    others = [p.get("username") or p["user_id"] for p in conversation.get("participants", [])
              if str(p["user_id"]) != app.me]
    return ", ".join(others)


@conversations.command("show")
@click.argument("conversation", metavar="CONVERSATION")
@json_option
@pass_app
def conversations_show(app: App, conversation: str) -> None:
    """A conversation and its participants."""
    found = app.client.conversation(app.conversation_id(conversation))
    if app.json:
        app.out.json(found)
        return
    _show_conversation(app, found)


def _show_conversation(app: App, conversation: dict) -> None:
    headline = Text(f"{conversation['type']}", style="bold")
    if conversation.get("name"):
        headline += Text(": ") + text(conversation["name"])
    app.out.print(headline + Text(f"  {conversation['id']}", style="dim"))
    rows = table("participant", "user id", "role")
    for participant in conversation.get("participants", []):
        rows.add_row(text(participant.get("username")), text(participant["user_id"]), text(participant.get("role")))
    app.out.print(rows)


@conversations.command("add")
@click.argument("conversation")
@click.argument("user")
@json_option
@pass_app
def conversations_add(app: App, conversation: str, user: str) -> None:
    """Add USER (one of your friends) to a group you own."""
    answer = app.client.add_participant(app.conversation_id(conversation), app.user_id(user))
    app.out.json(answer) if app.json else app.out.print("Added.")


@conversations.command("remove")
@click.argument("conversation")
@click.argument("user")
@json_option
@pass_app
def conversations_remove(app: App, conversation: str, user: str) -> None:
    """Remove USER from a group you own (they get no key for later messages)."""
    app.client.remove_participant(app.conversation_id(conversation), app.user_id(user))
    app.out.json({"removed": True}) if app.json else app.out.print("Removed.")


@conversations.command("leave")
@click.argument("conversation")
@json_option
@pass_app
def conversations_leave(app: App, conversation: str) -> None:
    """Leave a group."""
    app.client.leave(app.conversation_id(conversation))
    app.out.json({"left": True}) if app.json else app.out.print("Left.")


# --- sending -------------------------------------------------------------------------------------

def _mode_option(command):
    return click.option("--e2e/--standard", "e2e", default=True, show_default=True,
                        help="End-to-end encrypted (sealed for every participant, signed) or standard "
                             "(encrypted at rest by the server; signed if you have keys).")(command)


@click.command()
@click.argument("conversation")
@click.argument("text_", metavar="TEXT", required=False)
@click.option("--attach", "paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A file to attach; repeat for several.")
@_mode_option
@json_option
@pass_app
def send(app: App, conversation: str, text_: str | None, paths: tuple[Path, ...], e2e: bool) -> None:
    """Send TEXT (or standard input) to CONVERSATION (an id, or @username)."""
    body = text_ if text_ is not None and text_ != "-" else sys.stdin.read()
    _send(app, conversation, body, paths, e2e)


@click.command()
@click.argument("conversation")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--text", "body", default="", help="A message to go with the files.")
@_mode_option
@json_option
@pass_app
def attach(app: App, conversation: str, paths: tuple[Path, ...], body: str, e2e: bool) -> None:
    """Send files to CONVERSATION (end to end: encrypted here, the keys sealed in the message)."""
    _send(app, conversation, body, paths, e2e)


def _send(app: App, conversation: str, body: str, paths: tuple[Path, ...], e2e: bool) -> None:
    conversation_id = app.conversation_id(conversation)
    files = [File.from_path(path) for path in paths]
    if e2e:
        sent = messages.send_e2e(app.client, conversation_id, body, keyring=app.keyring(), contacts=app.contacts(),
                                 me=app.me, files=files)
    else:
        sent = messages.send_standard(app.client, conversation_id, body, keyring=app.keyring_if_any(), files=files)
    for warning in sent.warnings:
        app.out.warn(warning)
    if app.json:
        app.out.json({**sent.message, "warnings": sent.warnings})
        return
    kind = "end-to-end" if e2e else "standard"
    app.out.print(Text(f"Sent ({kind}) ", style="green") + text(sent.message["id"]))


# --- reading ---------------------------------------------------------------------------------------

@click.command()
@click.argument("conversation")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--cursor", default=None, help="The next_cursor of the previous page (older messages).")
@click.option("--save-attachments", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Download (and decrypt) the attachments into this directory.")
@click.option("--mark-read/--no-mark-read", default=True, show_default=True)
@json_option
@pass_app
def read(app: App, conversation: str, limit: int, cursor: str | None, save_attachments: Path | None,
         mark_read: bool) -> None:
    """Read CONVERSATION: decrypts and checks every signature, and says what could not be trusted."""
    conversation_id = app.conversation_id(conversation)
    names = _names(app, conversation_id)
    keyring = app.keyring_if_any()
    reads, next_cursor = messages.read_conversation(app.client, conversation_id, keyring=keyring,
                                                    contacts=app.contacts(), me=app.me, limit=limit, cursor=cursor)
    saved = _save_attachments(app, reads, save_attachments) if save_attachments else {}
    if mark_read and reads and cursor is None:
        app.client.mark_read(conversation_id, max(int(r.message["seq"]) for r in reads))
    if app.json:
        app.out.json({"items": [{**r.as_dict(), "sender": names.get(str(r.message["sender_id"])),
                                 "saved": saved.get(r.id, [])} for r in reads], "next_cursor": next_cursor})
        return
    for item in reversed(reads):       # oldest first, as a conversation reads
        show_message(app, item, names, saved.get(item.id, []))
    if next_cursor:
        app.out.note(f"older: --cursor {next_cursor}")


def _names(app: App, conversation_id: str) -> dict[str, str]:
    conversation = app.client.conversation(conversation_id)
    return {str(p["user_id"]): p.get("username") or str(p["user_id"]) for p in conversation.get("participants", [])}


def _save_attachments(app: App, reads: list[Read], directory: Path) -> dict[str, list[str]]:
    directory.mkdir(parents=True, exist_ok=True)
    saved: dict[str, list[str]] = {}
    for item in reads:
        if item.trust not in messages.TRUSTED + ("unsigned",):
            continue        # nothing in an untrusted message is fetched
        ids = [a.id for a in item.attachments] if item.message["kind"] == "e2e" else item.message.get("attachment_ids")
        for attachment_id in ids or ():
            name, data, _content_type = messages.download_attachment(app.client, item, attachment_id)
            # The name is the sender's: keep only its last part, prefixed with the id so nothing is overwritten.
            target = directory / f"{attachment_id}-{Path(name).name or 'attachment'}"
            target.write_bytes(data)
            saved.setdefault(item.id, []).append(str(target))
    return saved


def show_message(app: App, item: Read, names: dict[str, str], saved: list[str] = ()) -> None:
    sender = names.get(str(item.message["sender_id"]), str(item.message["sender_id"]))
    header = when(item.message.get("created_at")) + Text("  ") + Text(sender, style="bold") + Text("  ")
    header += trust_badge(item.trust)
    if item.message.get("kind") == "e2e":
        header += Text("  e2e", style="cyan")
    app.out.print(header)
    if item.key_check and item.key_check.warning:
        app.out.print(Text("  ⚠ ", style="bold yellow") + Text(item.key_check.warning, style="yellow"))
    if item.problem:
        app.out.print(Text("  ", style="") + Text(item.problem, style="red"))
    if item.body is not None and item.trust in messages.TRUSTED + ("unsigned",):
        for line in item.body.splitlines() or [""]:
            app.out.print(Text("  ") + Text(line))
    for attachment in item.attachments:
        app.out.print(Text("  📎 ") + text(attachment.name) + Text(f" ({attachment.content_type}, {attachment.id})",
                                                                  style="dim"))
    if item.message.get("kind") == "standard":
        for attachment_id in item.message.get("attachment_ids") or ():
            app.out.print(Text(f"  📎 {attachment_id}", style="dim"))
    for path in saved:
        app.out.print(Text(f"  saved: {path}", style="dim"))


# --- the live stream ---------------------------------------------------------------------------------

@click.command()
@click.option("--raw", is_flag=True, help="Print the stream's events as they come; do not fetch the messages.")
@click.option("--from-start", is_flag=True, help="Replay every event the server still keeps (a day's worth), "
                                                "not only those after the last `beyou watch`.")
@click.option("--max-events", type=click.IntRange(1), default=None, help="Stop after this many events.")
@json_option
@pass_app
def watch(app: App, raw: bool, from_start: bool, max_events: int | None) -> None:
    """Follow the live stream: new messages (decrypted and checked), read receipts, notification counts.

    Resumes after the last event seen (Last-Event-ID) and reconnects by itself; stops when the session
    is revoked or signed out, or on Ctrl-C.
    """
    last_event_id = "0" if from_start else app.home.last_event_id()
    names: dict[str, dict[str, str]] = {}
    seen = 0
    if not app.json:
        app.out.note("Watching (Ctrl-C to stop)…")
    try:
        for event in app.client.follow(last_event_id, on_reconnect=lambda _id, delay: app.out.note(
                f"connection lost; reconnecting in {delay:.0f} s")):
            if event.id:
                app.home.save_last_event_id(event.id)
            _show_event(app, event, raw, names)
            seen += 1
            if max_events and seen >= max_events:
                return
    except KeyboardInterrupt:
        return
    except ProblemError as problem:
        if problem.status == 401:
            app.out.note("The stream closed: this session was signed out or revoked.")
        raise


def _show_event(app: App, event, raw: bool, names: dict[str, dict[str, str]]) -> None:
    try:
        data = json.loads(event.data)
    except ValueError:
        data = event.data
    if event.type == "message" and not raw and isinstance(data, dict) and data.get("message_id"):
        try:
            message = app.client.message(str(data["message_id"]))
        except ProblemError as problem:
            if problem.status != 404:        # removed since: nothing to show
                raise
            return
        conversation_id = str(message["conversation_id"])
        if conversation_id not in names:
            names[conversation_id] = _names(app, conversation_id)
        item = messages.read_message(app.client, message, keyring=app.keyring_if_any(), contacts=app.contacts(),
                                     me=app.me)
        if app.json:
            app.out.json({"event": event.type, "id": event.id, "message": item.as_dict()})
        else:
            app.out.print(Text(f"[{conversation_id[:8]}] ", style="dim"), end="")
            show_message(app, item, names[conversation_id])
        return
    if app.json:
        app.out.json({"event": event.type, "id": event.id, "data": data})
    else:
        app.out.print(Text(f"{event.type}: ", style="bold") + text(json.dumps(data) if isinstance(data, dict)
                                                                   else data))
