"""The key file: private keys encrypted with a passphrase, readable by no one else."""
from __future__ import annotations

import json
import stat

import pytest

from beyou import keys, keystore
from beyou.keystore import Argon2Parameters, Keyring

# Cheap parameters keep the tests fast; the file records them, and one test uses the defaults.
FAST = Argon2Parameters(iterations=1, lanes=1, memory_kib=8 * 1024)


@pytest.fixture
def keyring() -> Keyring:
    ring = Keyring(owner_id="7c0c1f5e-9d1e-4a53-8f00-5b0ad3c0a001", keys=[])
    for purpose in keys.PURPOSES:
        ring.add(keys.generate(purpose))
    return ring


def test_a_saved_key_file_opens_with_its_passphrase_to_the_same_keys(tmp_path, keyring):
    path = tmp_path / "keys.json"
    keyring.activate(keyring.keys[0], "2026-01-01T00:00:00+00:00")
    keystore.save(path, keyring, "correct horse battery staple")
    opened = keystore.load(path, "correct horse battery staple")
    assert opened.owner_id == keyring.owner_id
    assert [(k.purpose, k.algorithm, k.fingerprint, k.status) for k in opened.keys] == \
        [(k.purpose, k.algorithm, k.fingerprint, k.status) for k in keyring.keys]
    assert opened.active("signing").registered_at == "2026-01-01T00:00:00+00:00"


def test_the_file_is_the_owners_alone_and_shows_nothing_of_the_keys(tmp_path, keyring):
    path = tmp_path / "keys.json"
    keystore.save(path, keyring, "passphrase", FAST)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "PRIVATE KEY" not in text and keyring.owner_id not in text
    assert all(key.fingerprint not in text for key in keyring.keys)
    assert json.loads(text)["kdf"]["name"] == "argon2id"


def test_a_wrong_passphrase_is_refused(tmp_path, keyring):
    path = tmp_path / "keys.json"
    keystore.save(path, keyring, "passphrase", FAST)
    with pytest.raises(keystore.WrongPassphrase):
        keystore.load(path, "Passphrase")


def test_a_file_whose_kdf_cost_was_lowered_does_not_open(tmp_path, keyring):
    path = tmp_path / "keys.json"
    keystore.save(path, keyring, "passphrase", FAST)
    document = json.loads(path.read_text())
    document["kdf"]["memory_kib"] = 8 * 1024 - 1024
    path.write_text(json.dumps(document))
    with pytest.raises(keystore.WrongPassphrase):
        keystore.load(path, "passphrase")


def test_registering_a_new_key_retires_the_old_one_which_still_decrypts(keyring):
    old = keyring.keys[1]
    keyring.activate(old, "2026-01-01T00:00:00+00:00")
    new = keys.generate("encryption")
    keyring.add(new)
    keyring.activate(new, "2026-02-01T00:00:00+00:00")
    assert keyring.active("encryption") is new
    assert (old.status, old.retired_at) == ("retired", "2026-02-01T00:00:00+00:00")
    assert keyring.decryption_keys() == [new, old]


def test_a_new_pending_key_replaces_an_older_pending_one_never_registered(keyring):
    replacement = keys.generate("signing")
    keyring.add(replacement)
    assert keyring.pending("signing") is replacement
    assert len([k for k in keyring.keys if k.purpose == "signing"]) == 1


def test_a_changed_passphrase_opens_the_file_and_the_old_one_no_longer_does(tmp_path, keyring):
    path = tmp_path / "keys.json"
    keystore.save(path, keyring, "old passphrase", FAST)
    keystore.change_passphrase(path, "old passphrase", "new passphrase")
    assert len(keystore.load(path, "new passphrase").keys) == 2
    with pytest.raises(keystore.WrongPassphrase):
        keystore.load(path, "old passphrase")


def test_a_missing_or_foreign_file_is_a_clear_error(tmp_path):
    with pytest.raises(keystore.KeyFileError, match="beyou keys generate"):
        keystore.load(tmp_path / "keys.json", "passphrase")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(keystore.KeyFileError, match="not a version 1"):
        keystore.load(tmp_path / "other.json", "passphrase")
