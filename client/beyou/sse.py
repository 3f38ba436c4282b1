"""Server-Sent Events, parsed as the WHATWG HTML standard says (9.2 "Server-sent events").

A stream is UTF-8 (a leading BOM is dropped); lines end in CRLF, LF or CR — a CR
may end one network chunk and its LF begin the next; a blank line dispatches the
event; `:` starts a comment (heartbeats); `data` lines are joined with LF; `id`
sets the last event id, which carries over to later events (and is what a client
sends back as `Last-Event-ID` when it reconnects); `retry` sets the reconnection
delay in milliseconds. An event without data is not dispatched, and an event cut
off by the end of the stream is dropped.
"""
from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    type: str             # "message" when the stream named none
    data: str
    id: str | None        # the last event id in force when this event was dispatched


class Parser:
    """Feed it the stream's bytes as they arrive; it gives back the complete events."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""           # text after the last line ending
        self._after_cr = False       # the previous chunk ended in CR: a leading LF belongs to it
        self._started = False        # the BOM may only stand at the very start
        self._type = ""
        self._data: list[str] = []
        self.last_event_id: str | None = None
        self.retry_ms: int | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        text = self._decoder.decode(chunk)
        if not text:
            return []                   # e.g. half of a multi-byte character: wait for the rest
        if not self._started:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._after_cr and text.startswith("\n"):
            text = text[1:]
        self._after_cr = False
        events = []
        buffer = self._pending + text
        start = index = 0
        while index < len(buffer):
            char = buffer[index]
            if char in "\r\n":
                event = self._line(buffer[start:index])
                if event is not None:
                    events.append(event)
                if char == "\r" and buffer[index + 1:index + 2] == "\n":
                    index += 1          # CRLF is one line ending
                start = index + 1
            index += 1
        self._pending = buffer[start:]
        # A CR at the very end ended its line; an LF opening the next chunk is its other half.
        self._after_cr = buffer.endswith("\r")
        return events

    def _line(self, line: str) -> Event | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._type = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self.retry_ms = int(value)
        return None

    def _dispatch(self) -> Event | None:
        data, event_type = self._data, self._type
        self._data, self._type = [], ""
        if not data:
            return None
        return Event(type=event_type or "message", data="\n".join(data), id=self.last_event_id)


def events(chunks: Iterable[bytes], parser: Parser | None = None) -> Iterator[Event]:
    """The events of a stream of byte chunks (pass a parser to read its last_event_id and retry_ms after)."""
    parser = parser or Parser()
    for chunk in chunks:
        yield from parser.feed(chunk)
