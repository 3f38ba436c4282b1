"""The client's local state: one directory (~/.beyou, or BEYOU_HOME, or --home).

    config.json     the server's URL
    session.json    the signed-in session: access and refresh token (secrets)
    keys.json       the private keys, encrypted with the passphrase (beyou.keystore)
    contacts.json   contacts' keys as pinned on first use (beyou.contacts)
    stream.json     where `beyou watch` resumes the live stream

The directory is made 0700 and every file 0600: tokens and keys are the user's
alone. Files are replaced atomically (a new file renamed over the old), so a
crash never leaves half a key file or a spent refresh token behind.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from beyou.api import DEFAULT_SERVER, Session

ENV_HOME = "BEYOU_HOME"
ENV_SERVER = "BEYOU_SERVER"


def default_path() -> Path:
    return Path(os.environ.get(ENV_HOME) or Path.home() / ".beyou")


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only, atomically."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp: mode 0600
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    """The file's JSON, or None if there is no such file."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def write_json(path: Path, value: Any) -> None:
    write_private(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


class Home:
    """The state directory of one user of this machine."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else default_path()

    @property
    def config_file(self) -> Path:
        return self.path / "config.json"

    @property
    def session_file(self) -> Path:
        return self.path / "session.json"

    @property
    def keys_file(self) -> Path:
        return self.path / "keys.json"

    @property
    def contacts_file(self) -> Path:
        return self.path / "contacts.json"

    @property
    def stream_file(self) -> Path:
        return self.path / "stream.json"

    def ensure(self) -> Home:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self

    def server(self) -> str:
        """The server to talk to: BEYOU_SERVER, else the one last used, else the local gateway."""
        configured = read_json(self.config_file) or {}
        return os.environ.get(ENV_SERVER) or configured.get("server") or DEFAULT_SERVER

    def set_server(self, url: str) -> None:
        self.ensure()
        write_json(self.config_file, {**(read_json(self.config_file) or {}), "server": url.rstrip("/")})

    def load_session(self) -> Session | None:
        stored = read_json(self.session_file)
        return Session(**stored) if stored else None

    def save_session(self, session: Session | None) -> None:
        """Store the session (called for every refresh: refresh tokens are single-use), or forget it."""
        if session is None:
            self.session_file.unlink(missing_ok=True)
            return
        self.ensure()
        write_json(self.session_file, session.as_dict())

    def last_event_id(self) -> str | None:
        return (read_json(self.stream_file) or {}).get("last_event_id")

    def save_last_event_id(self, event_id: str | None) -> None:
        self.ensure()
        write_json(self.stream_file, {"last_event_id": event_id})
