"""Signed notes and checkpoints (C2SP signed-note, tlog-checkpoint; docs/ledger-formats.md §7–8):
the spec's example vector, the worked example, round trips, and every refusal."""
from __future__ import annotations

import base64

import pytest

from ledger.notes import (Checkpoint, NoteError, NoteSigner, NoteVerifier, checkpoint_body, key_id,
                          parse_checkpoint)

# The C2SP signed-note example (shared testdata README; also Go's note package tests).
EXAMPLE_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
EXAMPLE_TEXT = "This is an example message.\n"
EXAMPLE_LINE = ("— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFX"
                "mRKuwHjG1Yu72IneyaQM=\n")
EXAMPLE_NOTE = EXAMPLE_TEXT + "\n" + EXAMPLE_LINE

# The worked example of docs/ledger-formats.md: the ledger's key is RFC 8032 §7.1 test 2.
LEDGER_SEED = "TM0Imyj/ltqdtsNG7BFOD1uKMZ81q6Yk2oz27U+4pvs="
LEDGER_VKEY = "beyou.example/ledger+6ca955b3+AT1AF8PoQ4lakrcKp00bfrycmCzPLsSWjMDNVfEq9GYM"
EXAMPLE_ROOT = bytes.fromhex("4dc7806daaec1348ae8eac8e009e189e9afcf68a01487b775702802f1e67d4c2")
EXAMPLE_CHECKPOINT = ("beyou.example/ledger\n1\nTceAbarsE0iujqyOAJ4Ynpr89ooBSHt3VwKALx5n1MI=\n\n"
                      "— beyou.example/ledger bKlVs5envCYmH0lpt7r+Pw1tY85rlnTg6YLc/tinS6086JTM1LtP+PnEpQfYoz2v942t1B"
                      "Jlim5X3ErXYmKzIJwsGQk=\n")
EXAMPLE_HEADER = bytes.fromhex(
    "01" "0000000000000000" + "00" * 32 + "0000000000000000" "0000000000000001" "0000000000000001"
    "4dc7806daaec1348ae8eac8e009e189e9afcf68a01487b775702802f1e67d4c2" "00064752551b3240" "08" "000000000000006f")
EXAMPLE_HEADER_SIGNATURE = base64.b64decode(
    "QEQVp4nxV/KXdkmmUP3ddND/hTCG+aKBGdkOFE4UoYqElA4tIOr7qk+NqmtgnvcXaIfwwxsc/MRAU96emw3PDA==")


@pytest.fixture
def example():
    return NoteVerifier.from_vkey(EXAMPLE_VKEY)


@pytest.fixture
def ledger():
    return NoteSigner.from_seed("beyou.example/ledger", LEDGER_SEED)


def other_signer(name: str = "witness.example/w1") -> NoteSigner:
    return NoteSigner.from_seed(name, base64.b64encode(bytes(range(32))).decode())


# --- the spec's example ---------------------------------------------------------------------

def test_the_example_verifier_key_opens_the_example_note(example):
    assert example.open(EXAMPLE_NOTE) == EXAMPLE_TEXT
    assert example.name == "example.com/foo"
    assert example.key_id == bytes.fromhex("530d903a") == key_id("example.com/foo", example.public_key)
    assert example.vkey == EXAMPLE_VKEY


def test_changing_any_byte_of_the_example_text_fails(example):
    for at in range(len(EXAMPLE_TEXT) - 1):
        changed = EXAMPLE_TEXT[:at] + chr(ord(EXAMPLE_TEXT[at]) ^ 0x01) + EXAMPLE_TEXT[at + 1:]
        with pytest.raises(NoteError, match="does not verify"):
            example.open(changed + "\n" + EXAMPLE_LINE)


def test_a_changed_signature_fails(example):
    name, encoded = EXAMPLE_LINE[2:-1].split(" ")
    signature = bytearray(base64.b64decode(encoded))
    signature[10] ^= 0x01

    with pytest.raises(NoteError, match="does not verify"):
        example.open(f"{EXAMPLE_TEXT}\n— {name} {base64.b64encode(signature).decode()}\n")


def test_another_keys_signature_line_is_ignored(example):
    witness = other_signer().sign(EXAMPLE_TEXT).split("\n\n")[1]

    assert example.open(EXAMPLE_TEXT + "\n" + witness + EXAMPLE_LINE) == EXAMPLE_TEXT
    assert example.open(EXAMPLE_TEXT + "\n" + EXAMPLE_LINE + witness) == EXAMPLE_TEXT


def test_a_note_signed_only_by_an_unknown_key_fails(example):
    with pytest.raises(NoteError, match="no signature by example.com/foo"):
        example.open(other_signer().sign(EXAMPLE_TEXT))


def test_a_key_with_the_same_name_but_another_id_is_another_key(example):
    impostor = other_signer("example.com/foo").sign(EXAMPLE_TEXT)

    with pytest.raises(NoteError, match="no signature"):
        example.open(impostor)
    assert example.open(impostor + EXAMPLE_LINE) == EXAMPLE_TEXT


# --- signing --------------------------------------------------------------------------------

def test_the_ledger_signs_the_documented_checkpoint(ledger):
    body = checkpoint_body("beyou.example/ledger", 1, EXAMPLE_ROOT)

    assert ledger.vkey == LEDGER_VKEY
    assert ledger.sign(body) == EXAMPLE_CHECKPOINT
    assert NoteVerifier.from_vkey(LEDGER_VKEY).open(EXAMPLE_CHECKPOINT) == body


def test_the_ledger_signs_the_documented_block_header(ledger):
    assert ledger.sign_bytes(EXAMPLE_HEADER) == EXAMPLE_HEADER_SIGNATURE
    assert ledger.verifier().verify_bytes(EXAMPLE_HEADER, EXAMPLE_HEADER_SIGNATURE)
    assert not ledger.verifier().verify_bytes(EXAMPLE_HEADER[:-1] + b"\x70", EXAMPLE_HEADER_SIGNATURE)
    assert not ledger.verifier().verify_bytes(EXAMPLE_HEADER, EXAMPLE_HEADER_SIGNATURE[:63])


def test_a_note_with_blank_lines_and_unicode_round_trips(ledger):
    text = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"

    assert ledger.verifier().open(ledger.sign(text)) == text


def test_a_note_cosigned_by_appending_a_line_still_opens_for_each_signer(ledger):
    witness = other_signer()
    note = ledger.sign(EXAMPLE_TEXT) + witness.sign(EXAMPLE_TEXT).split("\n\n")[1]

    assert ledger.verifier().open(note) == EXAMPLE_TEXT
    assert witness.verifier().open(note) == EXAMPLE_TEXT


@pytest.mark.parametrize("text", ["no final newline", "", "a\tb\n", "a\rb\n", "\ud800\n"],
                         ids=["no-newline", "empty", "tab", "carriage-return", "lone-surrogate"])
def test_a_text_that_cannot_be_a_note_is_not_signed(ledger, text):
    with pytest.raises(NoteError):
        ledger.sign(text)


@pytest.mark.parametrize("seed", ["", "not base64!", base64.b64encode(bytes(31)).decode(),
                                  base64.b64encode(bytes(33)).decode(), "AAAA" * 10 + "AAB="],
                         ids=["empty", "not-base64", "31-bytes", "33-bytes", "non-canonical"])
def test_a_seed_that_is_not_32_bytes_of_base64_is_refused(seed):
    with pytest.raises(ValueError, match="signing key"):
        NoteSigner.from_seed("beyou.example/ledger", seed)


def test_a_seed_error_never_quotes_the_seed():
    seed = base64.b64encode(bytes(31)).decode()

    with pytest.raises(ValueError) as refused:
        NoteSigner.from_seed("beyou.example/ledger", seed)
    assert seed not in str(refused.value)


@pytest.mark.parametrize("name", ["", "a+b", "a b", "a\u00a0b", "a\u2003b", "a\u3000b", "a\nb", "a\x01b"],
                         ids=["empty", "plus", "space", "no-break-space", "em-space", "ideographic-space",
                              "newline", "control"])
def test_a_key_name_must_be_non_empty_without_spaces_or_plus(name):
    with pytest.raises(NoteError, match="key name"):
        NoteSigner.from_seed(name, LEDGER_SEED)


# --- verifier keys --------------------------------------------------------------------------

@pytest.mark.parametrize("vkey", [
    "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",   # uppercase id
    "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",   # another id
    "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",   # another name
    "example.com/foo+530d90+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",     # short id
    "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",   # key type 0x02
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U0=",   # 31-byte key
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2l",   # non-canonical base64
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k ",  # trailing space
    "example.com/foo+530d903a",
    "example.com foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
], ids=["uppercase-id", "other-id", "other-name", "short-id", "key-type-2", "short-key", "non-canonical",
        "trailing-space", "no-key", "space-in-name", "no-name"])
def test_a_malformed_verifier_key_is_refused(vkey):
    with pytest.raises(NoteError):
        NoteVerifier.from_vkey(vkey)


def test_a_verifier_key_round_trips_even_when_its_base64_holds_a_plus():
    signers = (NoteSigner.from_seed("beyou.example/ledger", base64.b64encode(bytes((i,)) * 32).decode())
               for i in range(256))
    signer = next(signer for signer in signers if "+" in signer.vkey.split("+", 2)[2])

    assert NoteVerifier.from_vkey(signer.vkey).public_key == signer.public_key
    assert NoteVerifier.from_vkey(signer.vkey).vkey == signer.vkey


# --- the note's form ------------------------------------------------------------------------

@pytest.mark.parametrize("note", [
    EXAMPLE_TEXT + EXAMPLE_LINE,                                         # no blank line
    EXAMPLE_NOTE[:-1],                                                   # no final newline
    EXAMPLE_TEXT + "\n",                                                 # no signature
    EXAMPLE_TEXT + "\n" + EXAMPLE_LINE.replace("—", "-"),                # hyphen, not em dash
    EXAMPLE_TEXT + "\n" + EXAMPLE_LINE.replace("— ", "—"),               # no space after the dash
    EXAMPLE_TEXT + "\n" + EXAMPLE_LINE + "trailing text\n",              # other text among signatures
    EXAMPLE_TEXT + "\n" + EXAMPLE_LINE.replace("=\n", "= \n"),           # a space after the signature
    EXAMPLE_TEXT + "\n" + EXAMPLE_LINE.replace("=\n", "\n"),             # missing padding
    EXAMPLE_TEXT + "\n" + EXAMPLE_LINE.replace("com/foo ", "com/foo  "),  # two spaces
    EXAMPLE_TEXT + "\n" + "— example.com/foo AAAA\n",                    # a signature of 3 bytes
    "This is\tan example message.\n\n" + EXAMPLE_LINE,                   # a control character
    EXAMPLE_NOTE.replace("\n", "\r\n"),
], ids=["no-blank-line", "no-final-newline", "no-signature", "hyphen", "no-space", "trailing-text",
        "space-after-signature", "no-padding", "two-spaces", "short-signature", "tab", "crlf"])
def test_a_malformed_note_is_refused(example, note):
    with pytest.raises(NoteError):
        example.open(note)


def test_a_note_may_carry_100_signatures_but_not_101(example):
    witness = other_signer().sign(EXAMPLE_TEXT).split("\n\n")[1]

    assert example.open(EXAMPLE_TEXT + "\n" + witness * 99 + EXAMPLE_LINE) == EXAMPLE_TEXT
    with pytest.raises(NoteError, match="at most 100"):
        example.open(EXAMPLE_TEXT + "\n" + witness * 100 + EXAMPLE_LINE)


# --- checkpoints ----------------------------------------------------------------------------

def test_a_checkpoint_body_round_trips():
    body = checkpoint_body("beyou.example/ledger", 1, EXAMPLE_ROOT)

    assert body == "beyou.example/ledger\n1\nTceAbarsE0iujqyOAJ4Ynpr89ooBSHt3VwKALx5n1MI=\n"
    assert parse_checkpoint(body) == Checkpoint("beyou.example/ledger", 1, EXAMPLE_ROOT, ())


def test_the_empty_tree_and_the_largest_size_are_checkpoints():
    for size in (0, 2**64 - 1):
        assert parse_checkpoint(checkpoint_body("o", size, EXAMPLE_ROOT)).size == size


def test_extension_lines_are_kept():
    body = checkpoint_body("beyou.example/ledger", 20852163, EXAMPLE_ROOT) + "ext one\n— ext two\n"

    assert parse_checkpoint(body).extensions == ("ext one", "— ext two")


@pytest.mark.parametrize("size", ["01", "00", "-1", "+1", " 1", "1.0", "0x10", "١", "18446744073709551616", ""],
                         ids=["leading-zero", "double-zero", "negative", "plus", "space", "decimal-point", "hex",
                              "arabic-digit", "2**64", "empty"])
def test_a_tree_size_that_is_not_plain_decimal_is_refused(size):
    with pytest.raises(NoteError):
        parse_checkpoint(f"beyou.example/ledger\n{size}\nTceAbarsE0iujqyOAJ4Ynpr89ooBSHt3VwKALx5n1MI=\n")


@pytest.mark.parametrize("body", [
    "beyou.example/ledger\n1\nTceAbarsE0iujqyOAJ4Ynpr89ooBSHt3VwKALx5n1MI=",           # no final newline
    "beyou.example/ledger\n1\n",                                                       # no root
    "\n1\nTceAbarsE0iujqyOAJ4Ynpr89ooBSHt3VwKALx5n1MI=\n",                             # empty origin
    "beyou.example/ledger\n1\nTceAbarsE0iujqyOAJ4Ynpr89ooBSHt3VwKALx5n1MI=\n\n",       # empty extension line
    "beyou.example/ledger\n1\nTceAbarsE0iujqyOAJ4Ynpr89ooBSHt3VwKALx5n1MJ=\n",         # non-canonical base64
    "beyou.example/ledger\n1\nTceAbarsE0iujqyOAJ4Ynpr89ooBSHt3VwKALx5n1A==\n",         # 31-byte root
    "beyou.example/ledger\n1\nTceAbarsE0iujqyOAJ4Ynpr89ooBSHt3VwKALx5n1MI\n",          # no padding
    "beyou.example/ledger\n1\nTceAbarsE0iujqyOAJ4Ynpr89ooBSHt3VwKALx5n1MI=\r\n",       # carriage return
], ids=["no-newline", "no-root", "empty-origin", "empty-extension", "non-canonical-root", "short-root",
        "unpadded-root", "crlf"])
def test_a_malformed_checkpoint_is_refused(body):
    with pytest.raises(NoteError):
        parse_checkpoint(body)


@pytest.mark.parametrize("origin, size, root", [
    ("", 1, EXAMPLE_ROOT), ("two\nlines", 1, EXAMPLE_ROOT), ("o", -1, EXAMPLE_ROOT), ("o", 2**64, EXAMPLE_ROOT),
    ("o", True, EXAMPLE_ROOT), ("o", 1, bytes(31)),
], ids=["empty-origin", "two-line-origin", "negative", "2**64", "bool", "short-root"])
def test_a_checkpoint_body_is_not_made_from_invalid_fields(origin, size, root):
    with pytest.raises(NoteError):
        checkpoint_body(origin, size, root)
