"""Sending and reading messages, with the end-to-end checks a client owes its user.

Sending end to end: the participants' active keys come from the server
(GET /conversations/{id}/keys); each is checked against the contact's pinned key
(`beyou.contacts`: pinned on first use, a change is a warning), then the message is
sealed for every participant, the sender included, and signed (`beyou.envelope`).
A standard message is signed too when the user has a signing key.

Reading: every message gets a `trust` verdict that says what the client could
establish, and `problem` says in words what went wrong:

    verified       signed by the sender's pinned key, and the sender was verified out of band
    signed         signed by the sender's pinned key (trusted on first use, not verified)
    key-changed    signed by a key that replaced the one pinned for the sender: the contact is unverified
    unsigned       a standard message without a signature: only the server vouches for it
    bad-signature  the signature does not verify: changed after it was signed, or not the sender's
    unknown-key    signed by a key that is not known to be the sender's
    not-for-me     sealed for none of my encryption keys
    undecryptable  signed, yet it does not decrypt (the sender sealed something broken)
    malformed      not a valid envelope
    misplaced      validly signed for another conversation or message id
    tampered       the stored content does not match the hash recorded when it was sent

Only "verified", "signed" and "key-changed" messages have a body to show as the
sender's words (and "unsigned" ones, as the server's word for it).
"""
from __future__ import annotations

import base64
import hashlib
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beyou import envelope as e2e
from beyou import keys as keylib
from beyou.api import Client, ProblemError
from beyou.contacts import Contacts, KeyCheck
from beyou.keystore import Keyring

TRUSTED = ("verified", "signed", "key-changed")


class CannotSend(Exception):
    """The message cannot be sealed: a participant has no key, or I have none."""


class UnsealedAttachment(Exception):
    """An attachment the sealed content of an e2e message does not name: nothing vouches for it."""


@dataclass(frozen=True)
class File:
    """A file to attach."""

    name: str
    data: bytes
    content_type: str

    @classmethod
    def from_path(cls, path: Path) -> File:
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return cls(path.name, path.read_bytes(), content_type)


@dataclass
class Sent:
    message: dict
    warnings: list[str] = field(default_factory=list)


@dataclass
class Participant:
    user_id: str
    username: str | None
    signing: dict | None
    encryption: dict | None


# --- sending ---------------------------------------------------------------------------------

def send_standard(client: Client, conversation_id: str, body: str, *, keyring: Keyring | None = None,
                  files: Sequence[File] = ()) -> Sent:
    """A standard message (the server encrypts it at rest), signed when I have a signing key."""
    message: dict[str, Any] = {"kind": "standard", "body": body}
    signing = keyring.active("signing") if keyring else None
    if signing is not None:
        message.update(e2e.sign_message(body, conversation_id=conversation_id,
                                        sender_signing_key=signing.private_key))
    if files:
        message["attachment_ids"] = [
            client.upload_attachment(conversation_id, file.name, file.data, content_type=file.content_type,
                                     encrypted_by_client=False)["id"] for file in files]
    return Sent(client.post_message(conversation_id, message))


def send_e2e(client: Client, conversation_id: str, body: str, *, keyring: Keyring, contacts: Contacts, me: str,
             files: Sequence[File] = ()) -> Sent:
    """An end-to-end message: sealed for every participant's key (checked against the pinned ones), signed."""
    signing = keyring.active("signing")
    if signing is None:
        raise CannotSend("you have no registered signing key: beyou keys generate")
    participants = conversation_participants(client, conversation_id)
    warnings = check_participant_keys(participants, keyring=keyring, contacts=contacts, me=me)
    missing = [p.username or p.user_id for p in participants if not p.encryption]
    if missing:
        raise CannotSend(f"no encryption key registered for {', '.join(missing)}: they cannot receive end-to-end "
                         "messages until they register one (beyou keys generate)")
    recipients = [(p.encryption["fingerprint"], keylib.load_public_pem(p.encryption["pem"])) for p in participants]
    attachments = [_upload_encrypted(client, conversation_id, file) for file in files]
    envelope = e2e.seal(body, attachments, conversation_id=conversation_id, sender_signing_key=signing.private_key,
                        recipients=recipients)
    message: dict[str, Any] = {"kind": "e2e", "envelope": envelope}
    if attachments:
        message["attachment_ids"] = [attachment.id for attachment in attachments]
    return Sent(client.post_message(conversation_id, message), warnings)


def _upload_encrypted(client: Client, conversation_id: str, file: File) -> e2e.Attachment:
    encrypted = e2e.encrypt_attachment(file.data)
    uploaded = client.upload_attachment(conversation_id, "attachment.bin", encrypted.ciphertext,
                                        content_type="application/octet-stream", encrypted_by_client=True)
    return e2e.Attachment(uploaded["id"], encrypted.key, encrypted.nonce, file.name, file.content_type)


def conversation_participants(client: Client, conversation_id: str) -> list[Participant]:
    """Every participant with their active keys, as the server checks envelopes against."""
    return [Participant(str(row["user_id"]), row.get("username"), row.get("signing_key"), row.get("encryption_key"))
            for row in client.conversation_keys(conversation_id)["participants"]]


def check_participant_keys(participants: Sequence[Participant], *, keyring: Keyring, contacts: Contacts,
                           me: str) -> list[str]:
    """Pin or check every other participant's keys; the warnings to show (changed keys, a key of mine
    the server lists that this device does not hold)."""
    warnings = []
    for participant in participants:
        if participant.user_id == str(me):
            mine = participant.encryption and keyring.find(participant.encryption["fingerprint"])
            if participant.encryption and not mine:
                warnings.append("the server lists an encryption key for you that this device does not hold: "
                                "you will not be able to read this message here")
            continue
        check = contacts.observe(participant.user_id, participant.username,
                                 {"signing": participant.signing, "encryption": participant.encryption})
        if check.warning:
            warnings.append(check.warning)
    contacts.save()
    return warnings


# --- reading ---------------------------------------------------------------------------------

@dataclass
class Read:
    """A message as the client could read it, and how far it could trust it."""

    message: dict
    trust: str
    body: str | None = None
    problem: str | None = None
    attachments: tuple[e2e.Attachment, ...] = ()
    key_check: KeyCheck | None = None

    @property
    def id(self) -> str:
        return str(self.message["id"])

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "seq": self.message.get("seq"), "conversation_id": self.message.get("conversation_id"),
                "sender_id": self.message.get("sender_id"), "kind": self.message.get("kind"),
                "created_at": self.message.get("created_at"), "trust": self.trust, "body": self.body,
                "problem": self.problem, "warning": self.key_check.warning if self.key_check else None,
                "attachments": [{"id": a.id, "name": a.name, "content_type": a.content_type}
                                for a in self.attachments] or
                               [{"id": i} for i in self.message.get("attachment_ids") or []]}


def read_message(client: Client, message: dict, *, keyring: Keyring | None, contacts: Contacts, me: str) -> Read:
    """Verify (and for e2e decrypt) one message as served."""
    if message["kind"] == "e2e":
        return _read_e2e(client, message, keyring=keyring, contacts=contacts, me=me)
    return _read_standard(client, message, keyring=keyring, contacts=contacts, me=me)


def _read_standard(client: Client, message: dict, *, keyring: Keyring | None, contacts: Contacts, me: str) -> Read:
    body = message.get("body")
    if not _standard_hash_matches(message):
        return Read(message, "tampered", body, "the text does not match the hash recorded when it was sent")
    if not message.get("signature"):
        return Read(message, "unsigned", body)
    signer = _signer(client, message, contacts=contacts, keyring=keyring, me=me)
    if isinstance(signer, Read):
        return signer
    public_key, trust, check = signer
    try:
        e2e.verify_message(body, conversation_id=str(message["conversation_id"]), message_id=str(message["id"]),
                           sender_key=message["sender_key"], signature=message["signature"],
                           sender_public_signing_key=public_key)
    except e2e.EnvelopeError as error:
        return Read(message, "bad-signature", body, f"the signature does not verify: {error}", key_check=check)
    return Read(message, trust, body, key_check=check)


def _standard_hash_matches(message: dict) -> bool:
    salt, recorded = message.get("content_salt"), message.get("content_sha256")
    if not salt or not recorded or message.get("body") is None:
        return True     # nothing to check against
    return hashlib.sha256(base64.b64decode(salt) + message["body"].encode()).hexdigest() == recorded


def _read_e2e(client: Client, message: dict, *, keyring: Keyring | None, contacts: Contacts, me: str) -> Read:
    envelope = message.get("envelope")
    if keyring is None:
        return Read(message, "not-for-me", problem="no key file opened: cannot decrypt end-to-end messages")
    if not isinstance(envelope, dict) or not isinstance(envelope.get("sender_key"), str):
        return Read(message, "malformed", problem="the server sent no valid envelope")
    signer = _signer(client, {**message, "sender_key": envelope["sender_key"]}, contacts=contacts, keyring=keyring,
                     me=me)
    if isinstance(signer, Read):
        return signer
    public_key, trust, check = signer
    recipients = {entry.get("key") for entry in envelope.get("recipients") or () if isinstance(entry, dict)}
    mine = next((key for key in keyring.decryption_keys() if key.fingerprint in recipients), None)
    my_key = mine or keyring.active("encryption") or (keyring.decryption_keys() or [None])[0]
    if my_key is None:
        return Read(message, "not-for-me", problem="you have no encryption key")
    try:
        opened = e2e.open_envelope(envelope, my_encryption_key=my_key.private_key,
                                   sender_public_signing_key=public_key,
                                   conversation_id=str(message["conversation_id"]), message_id=str(message["id"]))
    except e2e.BadSignature as error:
        return Read(message, "bad-signature", problem=str(error), key_check=check)
    except e2e.Misplaced as error:
        return Read(message, "misplaced", problem=str(error), key_check=check)
    except e2e.NotForMe:
        return Read(message, "not-for-me", problem="this message was not sealed for any of your encryption keys "
                                                   "(sent before you joined, or for a key you no longer hold)")
    except e2e.TamperedCiphertext as error:
        return Read(message, "undecryptable", problem=str(error), key_check=check)
    except e2e.MalformedEnvelope as error:
        return Read(message, "malformed", problem=str(error), key_check=check)
    if message.get("content_sha256") and message["content_sha256"] != opened.content_sha256:
        return Read(message, "tampered", problem="the envelope does not match the hash recorded when it was sent",
                    key_check=check)
    return Read(message, trust, opened.body, attachments=opened.attachments, key_check=check)


def _signer(client: Client, message: dict, *, contacts: Contacts, keyring: Keyring | None,
            me: str) -> tuple[Any, str, KeyCheck | None] | Read:
    """The public key that should have signed `message` (named by its sender_key), and the trust it
    earns if the signature holds; or the Read saying why there is none."""
    fingerprint, sender_id = message.get("sender_key"), str(message["sender_id"])
    if sender_id == str(me):
        own = keyring.find(fingerprint) if keyring and fingerprint else None
        if own is not None:
            return own.public_key, "verified", None
    contact = contacts.get(sender_id)
    pinned = contact.known_key(fingerprint) if contact and fingerprint else None
    if pinned is not None:
        return keylib.load_public_pem(pinned.pem), "verified" if contact.verified else "signed", None
    # Not pinned: ask the registry whose key it is. A key of the sender's becomes pinned (first use) or,
    # replacing the pinned one, is a key change.
    try:
        key = client.key(fingerprint) if fingerprint else None
    except ProblemError as problem:
        if problem.status != 404:
            raise
        key = None
    if key is None or str(key.get("user_id")) != sender_id or key.get("purpose") != "signing":
        return Read(message, "unknown-key", problem=f"signed by key {fingerprint}, which is not a known signing "
                                                     "key of the sender's: the sender cannot be confirmed")
    if sender_id == str(me):
        return keylib.load_public_pem(key["pem"]), "signed", None
    if not key.get("active"):
        # An old key of theirs from before this device met them: it verifies, but was never pinned here.
        return keylib.load_public_pem(key["pem"]), "signed", None
    check = contacts.observe(sender_id, None, {"signing": key})
    contacts.save()
    return keylib.load_public_pem(key["pem"]), "key-changed" if check.status == "changed" else "signed", check


def read_conversation(client: Client, conversation_id: str, *, keyring: Keyring | None, contacts: Contacts, me: str,
                      limit: int | None = None, cursor: str | None = None) -> tuple[list[Read], str | None]:
    """A page of messages, newest first, each read and verified; and the next page's cursor."""
    page = client.messages(conversation_id, limit=limit, cursor=cursor)
    return ([read_message(client, message, keyring=keyring, contacts=contacts, me=me) for message in page["items"]],
            page.get("next_cursor"))


def download_attachment(client: Client, read: Read, attachment_id: str) -> tuple[str, bytes, str]:
    """(name, bytes, content type) of one attachment of a message read: decrypted for e2e (TamperedCiphertext
    if the file served is not the one the sender sealed)."""
    data, content_type = client.attachment(attachment_id)
    sealed = next((a for a in read.attachments if a.id == attachment_id), None)
    if read.message["kind"] == "e2e":
        if sealed is None:
            raise UnsealedAttachment(f"attachment {attachment_id} is not named in this message's sealed content")
        return sealed.name, e2e.decrypt_attachment(sealed, data), sealed.content_type
    return attachment_id, data, content_type
