"""Events the ledger service publishes, and the handlers of those it consumes.

Publishes: each type is declared here with its payload schema and version
(servicekit.events.contracts); `publish` refuses a type not declared, and the
declarations are the ledger's AsyncAPI document (/api/ledger/asyncapi.json).
Hashes are standard padded base64, as everywhere in the ledger's API.

Consumes (DESIGN.md): `messaging.message.created` (a message leaf), `messaging.message.removed` (the
leaf stays; the entry is reported removed), `auth.key.registered` and `auth.key.revoked` (key
transparency: key leaves). Handlers only queue a leaf; the sequencer appends it. Every worker also keeps
the revoked-session denylist (servicekit).
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate
from servicekit.events import EventContracts, EventHandlers

from ledger import entries, leaves

handlers = EventHandlers()
contracts = EventContracts("ledger", handlers)

_BASE64_HASH = validate.Regexp(r"^[A-Za-z0-9+/]{43}=$")


# --- published ---------------------------------------------------------------------------

@contracts.publishes("ledger.block.mined", version=1)
class BlockMined(Schema):
    """A block sealed leaves into the log; its checkpoint (at `tree_size`) is signed and served."""

    height = fields.Integer(required=True, validate=validate.Range(min=0))
    hash = fields.String(required=True, validate=_BASE64_HASH, metadata={
        "description": "SHA-256 of the block header's bytes (docs/ledger-formats.md), base64.",
        "example": "AAAxjyBdMDtuuJRXw3lKMT1Yq0yamP+5HbJ2TmTQn/I="})
    tree_size = fields.Integer(required=True, validate=validate.Range(min=1))
    root_hash = fields.String(required=True, validate=_BASE64_HASH, metadata={
        "example": "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="})
    first_leaf_index = fields.Integer(required=True, validate=validate.Range(min=0))
    leaf_count = fields.Integer(required=True, validate=validate.Range(min=1))
    mined_at = fields.AwareDateTime(required=True)


@contracts.publishes("ledger.integrity.failed", version=1)
class IntegrityFailed(Schema):
    """The audit found the stored log differing from what its leaves, tiles, blocks and signatures prove: the
    first bad entry or block is named. The ledger keeps serving, reporting itself degraded."""

    what = fields.String(required=True, validate=validate.OneOf(["leaf", "tile", "block"]), metadata={
        "description": "The kind of the first bad record."})
    leaf_index = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The first bad leaf (what = leaf or tile: the first leaf whose hashes differ)."})
    block_height = fields.Integer(required=True, allow_none=True, metadata={
        "description": "The first bad block (what = block)."})
    detail = fields.String(required=True, metadata={"example": "leaf 41: the stored leaf hash is not SHA-256(0x00 ‖ leaf)"})
    detected_at = fields.AwareDateTime(required=True)


# --- consumed ----------------------------------------------------------------------------

class _Consumed(Schema):
    class Meta:
        unknown = EXCLUDE


class MessageCreatedSchema(_Consumed):
    message_id = fields.UUID(required=True)
    conversation_id = fields.UUID(required=True)
    sender_id = fields.UUID(required=True)
    content_sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    signature_fingerprint = fields.String(required=True, allow_none=True,
                                          validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    created_at = fields.AwareDateTime(required=True)


class MessageRemovedSchema(_Consumed):
    message_id = fields.UUID(required=True)
    removed_at = fields.AwareDateTime(required=True)


class KeyRegisteredSchema(_Consumed):
    user_id = fields.UUID(required=True)
    fingerprint = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    purpose = fields.String(required=True, validate=validate.OneOf(["signing", "encryption"]))
    algorithm = fields.String(required=True, validate=validate.OneOf(["rsa", "ed25519", "x25519"]))
    pem = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


class KeyRevokedSchema(_Consumed):
    user_id = fields.UUID(required=True)
    fingerprint = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    purpose = fields.String(required=True, validate=validate.OneOf(["signing", "encryption"]))
    deactivated_at = fields.AwareDateTime(required=True)


_MESSAGE_CREATED = MessageCreatedSchema()   # one instance: every message passes through it


@handlers.on("messaging.message.created", schema=MessageCreatedSchema)
def on_message_created(session, event) -> None:
    """Every message becomes a leaf: who sent what (its content's hash) where, signed by which key, when."""
    entries.record_message(session, leaves.MessageLeaf(**_MESSAGE_CREATED.load(event.payload)))


@handlers.on("messaging.message.removed", schema=MessageRemovedSchema)
def on_message_removed(session, event) -> None:
    """The log keeps the leaf (it is append-only) and reports the entry removed."""
    removed = MessageRemovedSchema().load(event.payload)
    entries.record_removal(session, removed["message_id"], removed["removed_at"])


@handlers.on("auth.key.registered", schema=KeyRegisteredSchema)
def on_key_registered(session, event) -> None:
    """Key transparency: a key a client is handed must be in the log."""
    key = KeyRegisteredSchema().load(event.payload)
    entries.record_key(session, leaves.KeyRegisteredLeaf(
        user_id=key["user_id"], fingerprint=key["fingerprint"], purpose=key["purpose"], algorithm=key["algorithm"],
        created_at=key["created_at"], der=leaves.key_der_from_pem(key["pem"])))


@handlers.on("auth.key.revoked", schema=KeyRevokedSchema)
def on_key_revoked(session, event) -> None:
    entries.record_key_revoked(session, leaves.KeyRevokedLeaf(**KeyRevokedSchema().load(event.payload)))
