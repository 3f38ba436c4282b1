"""Friends (groups are made from them): add, requests, accept, list."""
from __future__ import annotations

import click
from rich.text import Text

from beyou.cli.app import App, Group, json_option, pass_app
from beyou.output import table, text, when


def register_commands(cli: Group) -> None:
    cli.add_command(friends)


@click.group(cls=Group)
def friends() -> None:
    """Friends: groups are made from your friends."""


@friends.command("add")
@click.argument("username")
@json_option
@pass_app
def friends_add(app: App, username: str) -> None:
    """Ask USERNAME to be friends (accepts their request if they asked you first)."""
    answer = app.client.request_friendship(username.lstrip("@"))
    if app.json:
        app.out.json(answer)
        return
    app.out.print(Text(f"Friend request {answer.get('status', 'sent')}: ") + text(answer.get("id")))


@friends.command("requests")
@click.option("--outgoing", is_flag=True, help="The requests you sent (default: the ones you received).")
@json_option
@pass_app
def friends_requests(app: App, outgoing: bool) -> None:
    """Open friend requests."""
    page = app.client.friend_requests("outgoing" if outgoing else "incoming")
    if app.json:
        app.out.json(page)
        return
    rows = table("id", "from", "to", "sent")
    for item in page["items"]:
        rows.add_row(text(item["id"]), text(_name(item, "sender")), text(_name(item, "recipient")),
                     when(item.get("created_at")))
    app.out.print(rows)


def _name(request: dict, role: str) -> str:
    person = request.get(role)
    if isinstance(person, dict):
        return person.get("username") or person.get("user_id") or ""
    return request.get(f"{role}_username") or request.get(f"{role}_id") or ""


@friends.command("accept")
@click.argument("request_id")
@json_option
@pass_app
def friends_accept(app: App, request_id: str) -> None:
    """Accept a friend request."""
    answer = app.client.accept_friend_request(request_id)
    app.out.json(answer) if app.json else app.out.print("Accepted: you are friends now.")


@friends.command("list")
@json_option
@pass_app
def friends_list(app: App) -> None:
    """Your friends."""
    page = app.client.friends()
    if app.json:
        app.out.json(page)
        return
    rows = table("username", "user id", "since")
    for item in page["items"]:
        rows.add_row(text(item.get("username")), text(item.get("user_id")), when(item.get("since")
                                                                                 or item.get("created_at")))
    app.out.print(rows)
