"""Where identity documents are kept: a small storage interface, so object storage can replace the volume.

The store holds opaque bytes under a key it chooses; callers encrypt before `put`
(the store never sees a plaintext document).
"""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Protocol


_KEY = re.compile(r"^[0-9a-f]{64}$")


class DocumentStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store `data` under a new key and return the key."""

    def get(self, key: str) -> bytes:
        """The bytes stored under `key`; `KeyError` if there are none."""

    def delete(self, key: str) -> None:
        """Forget `key` (nothing happens if it is unknown)."""


class FileDocumentStore:
    """Files with random names under a directory (a volume), readable by the service's user only."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> str:
        key = secrets.token_hex(32)
        path = self._path(key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):  # keys are ours, but a path is never built from anything else
            raise KeyError(key)
        return self.root / key[:2] / key
