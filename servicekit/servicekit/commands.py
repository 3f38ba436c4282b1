"""Flask CLI commands every service has: `flask --app <service> migrate | dead-letters list|replay`."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from servicekit import migrations
from servicekit.context import service_context as _context
from servicekit.events.deadletters import list_dead_letters, replay_dead_letters


@click.command("migrate")
@click.option("--revision", default="heads", show_default=True)
@with_appcontext
def migrate(revision: str) -> None:
    """Upgrade this service's database (safe to run concurrently)."""
    ctx = _context()
    migrations.upgrade(ctx.package_dir, ctx.settings, revision)
    click.echo(f"{ctx.settings.service}: database at {revision}")


@click.group("dead-letters")
def dead_letters() -> None:
    """Inspect and replay events that failed every attempt."""


@dead_letters.command("list")
@click.option("--limit", default=100, show_default=True)
@with_appcontext
def list_command(limit: int) -> None:
    """Print dead letters as JSON lines (they stay in the queue)."""
    ctx = _context()
    for letter in list_dead_letters(ctx.settings.amqp_url, ctx.topology, ctx.settings.service, limit):
        click.echo(letter.to_json())


@dead_letters.command("replay")
@click.argument("event_ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter.")
@with_appcontext
def replay_command(event_ids: tuple[str, ...], replay_all: bool) -> None:
    """Send dead letters (the given event ids, or --all) back to the live queue."""
    if not event_ids and not replay_all:
        raise click.UsageError("name event ids or pass --all")
    ctx = _context()
    replayed = replay_dead_letters(ctx.settings.amqp_url, ctx.topology, ctx.settings.service,
                                   None if replay_all else set(event_ids))
    for letter in replayed:
        click.echo(letter.to_json())
    click.echo(f"replayed {len(replayed)} event(s)", err=True)


def register(app: Flask) -> None:
    app.cli.add_command(migrate)
    app.cli.add_command(dead_letters)
