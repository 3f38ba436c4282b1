"""The messaging service's own CLI: `flask --app messaging rotate-data-key` (named as auth's)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from servicekit.context import service_resource, service_settings
from servicekit.db import database

from messaging import data_keys


@click.command("rotate-data-key")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(min=1),
              help="Rows re-encrypted per transaction.")
@with_appcontext
def reencrypt(batch_size: int) -> None:
    """Re-encrypt standard messages and attachments under the newest DATA_KEYS key.

    Safe to run again: what is already under the newest key is skipped, so an interrupted run is finished
    by running it again. The service keeps running meanwhile.
    """
    report = data_keys.reencrypt(database(), service_resource("cipher"), newest_key=service_settings().data_keys[0],
                                 batch_size=batch_size)
    for kind, counts in report.items():
        click.echo(f"{kind}: {counts.reencrypted} re-encrypted, {counts.current} already under the newest key, "
                   f"{counts.unreadable} unreadable")
    unreadable = sum(counts.unreadable for counts in report.values())
    if unreadable:
        raise click.ClickException(f"{unreadable} stored value(s) open with no key of DATA_KEYS and were left "
                                   "as they are (the log names them)")
