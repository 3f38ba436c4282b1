"""How the `beyou` command shows things: rich text for people, JSON for scripts.

Anything that came from another user or the server (names, message text, titles)
is shown as `Text`, never as rich markup, so "[red]" in a message stays literal and
terminal control sequences are stripped.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import sys
from typing import Any

import segno
from rich.console import Console
from rich.table import Table
from rich.text import Text

from beyou.api import ProblemError

TRUST_STYLES = {
    "verified": ("✔ verified", "bold green"),
    "signed": ("✔ signed", "green"),
    "key-changed": ("⚠ KEY CHANGED", "bold yellow"),
    "unsigned": ("unsigned", "dim"),
    "bad-signature": ("✘ SIGNATURE FAILED", "bold red"),
    "unknown-key": ("✘ UNKNOWN KEY", "bold red"),
    "not-for-me": ("✘ not sealed for you", "red"),
    "undecryptable": ("✘ DOES NOT DECRYPT", "bold red"),
    "malformed": ("✘ MALFORMED", "bold red"),
    "misplaced": ("✘ MISPLACED", "bold red"),
    "tampered": ("✘ TAMPERED", "bold red"),
}


class Output:
    def __init__(self, *, json_mode: bool = False) -> None:
        self.json_mode = json_mode
        self.console = Console(highlight=False, soft_wrap=True)
        self.errors = Console(stderr=True, highlight=False, soft_wrap=True)

    def json(self, value: Any) -> None:
        sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")

    def print(self, *renderables: Any, **kwargs: Any) -> None:
        self.console.print(*renderables, **kwargs)

    def note(self, message: str | Text, style: str = "dim") -> None:
        """Something for the person at the terminal (stderr, so stdout stays clean for --json)."""
        self.errors.print(message if isinstance(message, Text) else Text(message, style=style))

    def warn(self, message: str) -> None:
        self.errors.print(Text("warning: ", style="bold yellow") + Text(message))

    def error(self, message: str, *, details: dict | None = None) -> None:
        if self.json_mode:
            sys.stderr.write(json.dumps({"error": message, **(details or {})}, default=str) + "\n")
            return
        self.errors.print(Text("error: ", style="bold red") + Text(message))

    def problem(self, problem: ProblemError) -> None:
        if self.json_mode:
            sys.stderr.write(json.dumps({"error": problem.as_dict()}, default=str) + "\n")
            return
        line = Text("error: ", style="bold red") + Text(f"{problem.title} ({problem.status})", style="bold")
        if problem.detail and problem.detail != problem.title:
            line += Text(f": {problem.detail}")
        self.errors.print(line)
        for name, messages in sorted(problem.errors.items()):
            for message in messages if isinstance(messages, list) else [messages]:
                self.errors.print(Text(f"  {name}: ", style="yellow") + Text(_flat(message)))
        if problem.retry_after:
            self.errors.print(Text(f"  try again in {problem.retry_after} s", style="dim"))


def _flat(message: Any) -> str:
    if isinstance(message, dict):
        return "; ".join(f"{key}: {_flat(value)}" for key, value in message.items())
    if isinstance(message, list):
        return "; ".join(_flat(item) for item in message)
    return str(message)


def table(*columns: str, title: str | None = None) -> Table:
    result = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        result.add_column(column, overflow="fold")
    return result


def text(value: Any) -> Text:
    return Text("" if value is None else str(value))


def when(value: Any) -> Text:
    """A timestamp, shortened for a table (local time)."""
    if not value:
        return Text("—", style="dim")
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return text(value)
    return Text(moment.astimezone().strftime("%Y-%m-%d %H:%M"))


def trust_badge(trust: str) -> Text:
    label, style = TRUST_STYLES.get(trust, (trust, "bold"))
    return Text(label, style=style)


def qr(data: str) -> str:
    """A QR code as text for the terminal (segno's compact form: half blocks, light modules drawn, for
    the usual light-on-dark terminal)."""
    buffer = io.StringIO()
    segno.make(data, error="m").terminal(out=buffer, compact=True)
    return buffer.getvalue().rstrip("\n")
