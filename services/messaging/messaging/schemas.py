"""The messaging service's request and response schemas (marshmallow)."""
from __future__ import annotations

import unicodedata

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from messaging.messages import MAX_ATTACHMENTS
from messaging.models import BODY_MAX_CHARS, GROUP_MAX_MEMBERS, GROUP_NAME_MAX_CHARS

FINGERPRINT = validate.Regexp(r"^[0-9a-f]{64}$", error="Not a key fingerprint (64 lowercase hex digits).")
MAX_SEQ = 2**63 - 1
# Bidirectional embeddings, overrides and isolates: in a name they can make it read as another.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class GroupName(fields.String):
    """A group's name: one line, surrounding whitespace stripped, 1 to 100 characters, no control characters."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        name = super()._deserialize(value, attr, data, **kwargs).strip()
        if not name:
            raise ValidationError("A group needs a name.")
        if len(name) > GROUP_NAME_MAX_CHARS:
            raise ValidationError(f"At most {GROUP_NAME_MAX_CHARS} characters.")
        if any(unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in BIDI_CONTROLS for char in name):
            raise ValidationError("Must be one line without control characters.")
        return name


# --- conversations -------------------------------------------------------------------------

class ConversationCreateSchema(Schema):
    """A direct conversation ({"type": "direct", "user_id"}) or a group ({"type": "group", "name", "member_ids"})."""

    type = fields.String(required=True, validate=validate.OneOf(["direct", "group"]))
    user_id = fields.UUID(metadata={"description": "direct: the other user."})
    name = GroupName(metadata={"description": f"group: its name (1 to {GROUP_NAME_MAX_CHARS} characters, one line)."})
    member_ids = fields.List(fields.UUID(), validate=validate.Length(max=GROUP_MAX_MEMBERS), metadata={
        "description": f"group: the first members besides me, all my friends (at most {GROUP_MAX_MEMBERS - 1})."})

    @validates_schema
    def _fits_type(self, data, **kwargs) -> None:
        if data.get("type") == "direct":
            if "user_id" not in data:
                raise ValidationError("A direct conversation needs the other user.", "user_id")
            extra = [name for name in ("name", "member_ids") if name in data]
            if extra:
                raise ValidationError({name: ["Only for a group."] for name in extra})
        elif data.get("type") == "group":
            if "name" not in data:
                raise ValidationError("A group needs a name.", "name")
            if "user_id" in data:
                raise ValidationError("Only for a direct conversation (a group has member_ids).", "user_id")


class ConversationUpdateSchema(Schema):
    name = GroupName(required=True, metadata={"description": "The group's new name."})


class ParticipantAddSchema(Schema):
    user_id = fields.UUID(required=True, metadata={"description": "The friend of mine to add."})


class ParticipantSchema(Schema):
    user_id = fields.UUID(dump_only=True)
    username = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "null until the user's registration has reached messaging."})
    role = fields.String(dump_only=True, metadata={"enum": ["owner", "member"]})


class ConversationSchema(Schema):
    id = fields.UUID(dump_only=True)
    type = fields.String(dump_only=True, metadata={"enum": ["direct", "group"]})
    name = fields.String(dump_only=True, allow_none=True, metadata={"description": "A group's name; null if direct."})
    owner_id = fields.UUID(dump_only=True, allow_none=True, metadata={"description": "A group's owner."})
    participants = fields.List(fields.Nested(ParticipantSchema), dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    last_message_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    last_read_seq = fields.Integer(dump_only=True, metadata={
        "description": "The seq of the last message I read (0: none)."})
    unread_count = fields.Integer(dump_only=True, metadata={
        "description": "Messages after last_read_seq that others sent (removed ones not counted)."})


# --- keys ----------------------------------------------------------------------------------

class PublicKeySchema(Schema):
    fingerprint = fields.String(dump_only=True, metadata={
        "description": "SHA-256 (hex) of the DER SubjectPublicKeyInfo."})
    algorithm = fields.String(dump_only=True, metadata={"enum": ["ed25519", "x25519", "rsa"]})
    pem = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)


class ParticipantKeysSchema(Schema):
    user_id = fields.UUID(dump_only=True)
    username = fields.String(dump_only=True, allow_none=True)
    signing_key = fields.Nested(PublicKeySchema, dump_only=True, allow_none=True, metadata={
        "description": "The participant's active signing key; null if they have none (they cannot send e2e)."})
    encryption_key = fields.Nested(PublicKeySchema, dump_only=True, allow_none=True, metadata={
        "description": "The participant's active encryption key; null if they have none (no e2e message can be "
                       "sent in this conversation until they register one)."})


class ConversationKeysSchema(Schema):
    conversation_id = fields.UUID(dump_only=True)
    participants = fields.List(fields.Nested(ParticipantKeysSchema), dump_only=True)


# --- messages --------------------------------------------------------------------------------

class MessageCreateSchema(Schema):
    """A standard message ({"kind": "standard", "body", ...}) or an end-to-end one ({"kind": "e2e", "envelope"})."""

    kind = fields.String(required=True, validate=validate.OneOf(["standard", "e2e"]))
    body = fields.String(validate=validate.Length(min=1, max=BODY_MAX_CHARS), metadata={
        "description": f"standard: the text (1 to {BODY_MAX_CHARS} characters), encrypted at rest by the server."})
    message_id = fields.UUID(metadata={
        "description": "standard: the id, chosen by the client (needed to sign it); a new one if absent."})
    sender_key = fields.String(validate=FINGERPRINT, metadata={
        "description": "standard, signed: the fingerprint of my active signing key."})
    signature = fields.String(validate=validate.Length(min=1, max=2048), metadata={
        "description": "standard, optional: my signature of the message (docs/e2e-envelope.md), base64."})
    envelope = fields.Dict(keys=fields.String(), metadata={
        "description": "e2e: the signed envelope (docs/e2e-envelope.md), sealed for every participant's active "
                       "encryption key (GET /conversations/{id}/keys)."})
    attachment_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=MAX_ATTACHMENTS),
                                 metadata={"description": "Attachments I uploaded to this conversation "
                                                          "(client-encrypted ones for e2e)."})

    @validates_schema
    def _fits_kind(self, data, **kwargs) -> None:
        if data.get("kind") == "standard":
            if "body" not in data:
                raise ValidationError("A standard message needs a body.", "body")
            if "envelope" in data:
                raise ValidationError("Only for an e2e message.", "envelope")
            if "signature" in data:
                missing = [name for name in ("message_id", "sender_key") if name not in data]
                if missing:
                    raise ValidationError({name: ["Needed with a signature."] for name in missing})
            elif "sender_key" in data:
                raise ValidationError("Only with a signature.", "sender_key")
        elif data.get("kind") == "e2e":
            if "envelope" not in data:
                raise ValidationError("An e2e message needs an envelope.", "envelope")
            extra = [name for name in ("body", "message_id", "sender_key", "signature") if name in data]
            if extra:
                raise ValidationError({name: ["Not for an e2e message (the envelope carries it)."] for name in extra})


class MessageSchema(Schema):
    id = fields.UUID(dump_only=True)
    seq = fields.Integer(dump_only=True, metadata={"description": "Orders messages (newer is larger); what read "
                                                                  "state counts by."})
    conversation_id = fields.UUID(dump_only=True)
    sender_id = fields.UUID(dump_only=True)
    kind = fields.String(dump_only=True, metadata={"enum": ["standard", "e2e"]})
    body = fields.String(dump_only=True, allow_none=True, metadata={"description": "standard: the text."})
    content_salt = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "standard: the salt (base64); the ledger records SHA-256(salt ‖ UTF-8 body)."})
    content_sha256 = fields.String(dump_only=True, metadata={"description": "What the ledger records."})
    envelope = fields.Dict(dump_only=True, allow_none=True, metadata={"description": "e2e: the envelope as sent."})
    sender_key = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "The fingerprint of the signing key that signed it; null if unsigned."})
    signature = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "standard: the client's signature, if any (an e2e one is in the envelope)."})
    attachment_ids = fields.List(fields.UUID(), dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)


class ReadSchema(Schema):
    seq = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_SEQ), metadata={
        "description": "The seq of the newest message read (a later one than the conversation has counts as its "
                       "latest; an earlier one than already read changes nothing)."})


class ReadStateSchema(Schema):
    conversation_id = fields.UUID(dump_only=True)
    last_read_seq = fields.Integer(dump_only=True)
    unread_count = fields.Integer(dump_only=True)


# --- attachments ------------------------------------------------------------------------------

class AttachmentFormSchema(Schema):
    """The multipart form of an upload (the file itself is read by AttachmentFileSchema)."""

    conversation_id = fields.UUID(required=True, metadata={"description": "The conversation it is for."})
    encrypted_by_client = fields.Boolean(load_default=False, metadata={
        "description": "true: the file is client ciphertext for an e2e message (stored opaque, served as "
                       "application/octet-stream); false: a JPEG, PNG, WebP image or a PDF, checked by content."})
    file = Upload(load_only=True, metadata={"description": "The file (at most ATTACHMENT_MAX_BYTES)."})


class AttachmentFileSchema(Schema):
    file = Upload(required=True, metadata={"description": "The file (at most ATTACHMENT_MAX_BYTES)."})


class AttachmentSchema(Schema):
    id = fields.UUID(dump_only=True)
    conversation_id = fields.UUID(dump_only=True)
    uploader_id = fields.UUID(dump_only=True)
    encrypted_by_client = fields.Boolean(dump_only=True)
    content_type = fields.String(dump_only=True, metadata={
        "enum": ["image/webp", "application/pdf", "application/octet-stream"],
        "description": "As served: images are re-encoded as WebP (metadata removed)."})
    size = fields.Integer(dump_only=True, metadata={"description": "Bytes, as served."})
    sha256 = fields.String(dump_only=True, metadata={"description": "SHA-256 (hex) of the bytes as served."})
    created_at = fields.AwareDateTime(dump_only=True)
