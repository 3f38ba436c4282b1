"""The Server-Sent Events parser follows the WHATWG rules, however the bytes are cut into chunks."""
from __future__ import annotations

from beyou.sse import Event, Parser, events

STREAM = (
    b"\xef\xbb\xbf: heartbeat\r\n"
    b"retry: 2500\n"
    b"id: 7\n"
    b"event: message\n"
    b"data: {\"message_id\": \"m1\"}\n"
    b"\n"
    b"event: read\r"
    b"data: first line\r\n"
    b"data:second line\n"
    b"data\n"
    b"\r\n"
    b"id: 9\n"
    b"event: notifications\n"
    b"\n"
    b"data: caf\xc3\xa9\n"
    b"\n"
    b"data: cut off by the end of the stream\n"
)

EXPECTED = [
    Event(type="message", data='{"message_id": "m1"}', id="7"),
    Event(type="read", data="first line\nsecond line\n", id="7"),
    Event(type="message", data="café", id="9"),
]


def test_a_stream_in_one_chunk_gives_its_events_and_drops_the_unfinished_one():
    parser = Parser()
    assert list(events([STREAM], parser)) == EXPECTED
    assert parser.last_event_id == "9"
    assert parser.retry_ms == 2500


def test_the_same_stream_byte_by_byte_gives_the_same_events():
    # Every cut falls somewhere: inside CRLF pairs, inside the two bytes of "é", inside the BOM.
    assert list(events(STREAM[i:i + 1] for i in range(len(STREAM)))) == EXPECTED


def test_a_cr_ending_one_chunk_and_an_lf_starting_the_next_are_one_line_ending():
    assert list(events([b"data: a\r", b"\n", b"\r", b"\n"])) == [Event("message", "a", None)]


def test_an_event_without_data_is_not_dispatched_but_its_id_carries_over():
    assert list(events([b"id: 3\nevent: ping\n\ndata: x\n\n"])) == [Event("message", "x", "3")]


def test_an_id_with_a_nul_is_ignored_and_an_empty_id_resets_it():
    parser = Parser()
    assert list(events([b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\nid\ndata: c\n\n"], parser)) == [
        Event("message", "a", "1"), Event("message", "b", "1"), Event("message", "c", "")]


def test_a_retry_that_is_not_all_digits_is_ignored_and_unknown_fields_too():
    parser = Parser()
    assert list(events([b"retry: 10s\nretry: 1e3\ncolor: red\ndata: x\n\n"], parser)) == [Event("message", "x", None)]
    assert parser.retry_ms is None


def test_only_one_space_after_the_colon_is_dropped():
    assert list(events([b"data:  two spaces\n\n"])) == [Event("message", " two spaces", None)]
