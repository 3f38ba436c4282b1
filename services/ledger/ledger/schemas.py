"""Request and response schemas of the ledger's API. Hashes and leaves are standard padded base64; sizes
and indexes are JSON numbers."""
from __future__ import annotations

import base64

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from servicekit.pagination import PageArgs

MAX_INDEX = 2**63 - 1
_index = validate.Range(min=0, max=MAX_INDEX)
FINGERPRINT = validate.Regexp(r"^[0-9a-f]{64}$", error="A key fingerprint: 64 lowercase hexadecimal characters.")


class Base64(fields.Field):
    """Bytes as standard padded base64 (dump only)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(dump_only=True, metadata={"type": "string", "format": "byte", **kwargs.pop("metadata", {})},
                         **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else base64.b64encode(value).decode()


class Base64List(fields.List):
    def __init__(self, **kwargs) -> None:
        super().__init__(Base64(), dump_only=True, **kwargs)


# --- checkpoints -------------------------------------------------------------------------

class CheckpointSchema(Schema):
    origin = fields.String(metadata={"example": "beyou.example/ledger"})
    tree_size = fields.Integer()
    root_hash = Base64()
    note = fields.String(metadata={"description": "The C2SP signed note: the checkpoint text and the ledger's "
                                                  "Ed25519 signature line, verifiable with `verifier-key`."})


class LatestCheckpointSchema(CheckpointSchema):
    integrity = fields.String(metadata={"description": "ok, or failed when the audit found the stored log "
                                                       "tampered with (details in admin/audit)"})


class VerifierKeySchema(Schema):
    vkey = fields.String(metadata={"description": "The note verifier key: name+hexid+base64(0x01 ‖ Ed25519 key).",
                                   "example": "beyou.example/ledger+1a2b3c4d+AQ..."})


# --- entries -----------------------------------------------------------------------------

class EntrySchema(Schema):
    leaf_index = fields.Integer()
    leaf = Base64(metadata={"description": "The leaf's bytes (docs/ledger-formats.md)."})
    leaf_hash = Base64(metadata={"description": "SHA-256(0x00 ‖ leaf)."})
    block_height = fields.Integer(allow_none=True, metadata={"description": "null until a block seals the leaf"})


class MessageEntrySchema(EntrySchema):
    removed = fields.Boolean(metadata={"description": "Moderation removed the message; its leaf stays."})


class KeyEntrySchema(EntrySchema):
    revocation = fields.Nested(EntrySchema, allow_none=True, metadata={
        "description": "The key's revocation leaf, or null while it has not been revoked."})


class LoggedKeySchema(Schema):
    fingerprint = fields.String()
    purpose = fields.String(metadata={"example": "signing"})
    algorithm = fields.String(metadata={"example": "ed25519"})
    created_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)
    leaf_index = fields.Integer()
    block_height = fields.Integer(allow_none=True)


class LoggedKeysQuery(PageArgs):
    user_id = fields.UUID(required=True, metadata={"description": "Whose keys."})


# --- proofs ------------------------------------------------------------------------------

class InclusionQuery(Schema):
    leaf_index = fields.Integer(validate=_index)
    message_id = fields.UUID()
    fingerprint = fields.String(validate=FINGERPRINT, metadata={"description": "A key's registration leaf."})
    tree_size = fields.Integer(validate=validate.Range(min=1, max=MAX_INDEX), metadata={
        "description": "A checkpointed tree size (default: the latest checkpoint's)."})

    @validates_schema
    def one_leaf(self, data, **kwargs):
        named = [name for name in ("leaf_index", "message_id", "fingerprint") if data.get(name) is not None]
        if len(named) != 1:
            raise ValidationError("Name exactly one leaf: leaf_index, message_id or fingerprint.", "leaf_index")


class InclusionProofSchema(Schema):
    leaf_index = fields.Integer()
    tree_size = fields.Integer()
    leaf_hash = Base64()
    audit_path = Base64List(metadata={"description": "RFC 9162 inclusion proof, ordered leaf to root."})
    checkpoint = fields.Nested(CheckpointSchema)


class ConsistencyQuery(Schema):
    first = fields.Integer(required=True, validate=_index)
    second = fields.Integer(required=True, validate=_index, metadata={"description": "A checkpointed tree size."})


class ConsistencyProofSchema(Schema):
    first = fields.Integer()
    second = fields.Integer()
    proof = Base64List(metadata={"description": "RFC 9162 consistency proof."})


# --- blocks ------------------------------------------------------------------------------

class BlockSchema(Schema):
    height = fields.Integer()
    hash = Base64(metadata={"description": "SHA-256 of the header's bytes (docs/ledger-formats.md)."})
    previous_hash = Base64()
    first_leaf_index = fields.Integer()
    leaf_count = fields.Integer()
    tree_size = fields.Integer()
    root_hash = Base64(attribute="root")
    timestamp = fields.AwareDateTime()
    difficulty = fields.Integer(metadata={"description": "Leading zero bits the hash must have."})
    nonce = fields.Integer()
    signature = Base64(metadata={"description": "The ledger's Ed25519 signature of the header's bytes."})
    checkpoint = fields.String(metadata={"description": "The signed checkpoint note at the block's tree size."})


class HeightPath(Schema):
    height = fields.Integer(validate=_index)


# --- staff -------------------------------------------------------------------------------

class ConversationStatsSchema(Schema):
    conversation_id = fields.UUID()
    message_count = fields.Integer()
    block_count = fields.Integer()
    first_block = fields.Integer()
    last_block = fields.Integer()


class AuditQuery(Schema):
    mode = fields.String(load_default="incremental", validate=validate.OneOf(["incremental", "full"]))


class FindingSchema(Schema):
    what = fields.String(metadata={"description": "leaf, tile or block"})
    leaf_index = fields.Integer(allow_none=True)
    block_height = fields.Integer(allow_none=True)
    detail = fields.String()


class AuditReportSchema(Schema):
    mode = fields.String()
    status = fields.String(metadata={"description": "ok, or failed (kept until a full audit finds the log clean)"})
    finding = fields.Nested(FindingSchema, allow_none=True)
    complete = fields.Boolean(metadata={"description": "false: stopped for time before the last block; an "
                                                       "incremental audit continues from there"})
    tree_size = fields.Integer(metadata={"description": "Leaves checked so far (in checked blocks)."})
    block_height = fields.Integer(allow_none=True, metadata={"description": "The last block checked."})
    leaves_checked = fields.Integer()
    blocks_checked = fields.Integer()
    seconds = fields.Float()
    checked_at = fields.AwareDateTime()
