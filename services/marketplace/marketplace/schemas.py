"""The marketplace's request and response schemas (marshmallow): the catalog's (categories, items, images,
search), then buying's (the cart, checkout, orders and their payment, sold lines, sales)."""
from __future__ import annotations

import unicodedata

import pycountry
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate
from marshmallow.utils import get_value
from servicekit.pagination import PageArgs

from marketplace.idempotency import HEADER, KEY_MAX_CHARS
from marketplace.models import (CATEGORY_NAME_MAX_CHARS, CONDITIONS, DESCRIPTION_MAX_CHARS, IMAGE_SIZES,
                                ITEM_STATUSES, MAX_IMAGES_PER_ITEM, ORDER_STATUSES, PAYMENT_OUTCOMES, TITLE_MAX_CHARS)
from marketplace.search import QUERY_MAX_CHARS, RELEVANCE_WINDOW, SORTS

# Bounds that keep every order's total (price x quantity, summed over lines) far inside a 64-bit integer.
PRICE_MAX_MINOR = 100_000_000_000
QUANTITY_MAX = 100_000
CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="Must be an ISO 4217 code: three upper-case letters.")
SLUG = validate.Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
                       error="Lower-case letters, digits and single hyphens between them.")
# Bidirectional embeddings, overrides and isolates: in a title they can make it read as another.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
API = "/api/marketplace"


class Text(fields.String):
    """Text a user writes: surrounding whitespace stripped, at most `max_chars`, no control characters
    (line breaks and tabs only where `multiline`); `required_text` refuses what is empty once stripped."""

    def __init__(self, *, max_chars: int, multiline: bool, required_text: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_chars = max_chars
        self.multiline = multiline
        self.required_text = required_text

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.multiline:
            text = text.replace("\r\n", "\n")
        text = text.strip()
        if self.required_text and not text:
            raise ValidationError("Must not be empty.")
        if len(text) > self.max_chars:
            raise ValidationError(f"At most {self.max_chars} characters.")
        if any(self._refused(char) for char in text):
            raise ValidationError("Must not contain control characters" +
                                  (" (other than line breaks and tabs)." if self.multiline else " or line breaks."))
        return text

    def _refused(self, char: str) -> bool:
        if self.multiline and char in "\n\t":
            return False
        category = unicodedata.category(char)
        if category in ("Cc", "Cs"):
            return True
        return not self.multiline and (category in ("Zl", "Zp") or char in BIDI_CONTROLS)


def image_urls(item_id, image_id) -> dict[str, str] | None:
    """Where each rendition of an item's image is served (an image's bytes never change: cached for good)."""
    if image_id is None:
        return None
    return {str(size): f"{API}/items/{item_id}/images/{image_id}/{size}" for size in IMAGE_SIZES}


URLS_METADATA = {"type": "object", "additionalProperties": {"type": "string"}}
SIZES_TEXT = " and ".join(map(str, IMAGE_SIZES))


# --- categories --------------------------------------------------------------------------

class CategorySchema(Schema):
    id = fields.UUID(dump_only=True)
    name = fields.String(dump_only=True)
    slug = fields.String(dump_only=True)
    parent_id = fields.UUID(dump_only=True, allow_none=True, metadata={"description": "null at the top level."})
    depth = fields.Integer(dump_only=True, metadata={"description": "How many ancestors it has (0 at the top)."})
    created_at = fields.AwareDateTime(dump_only=True)


class CategoryCreateSchema(Schema):
    name = Text(required=True, max_chars=CATEGORY_NAME_MAX_CHARS, multiline=False, required_text=True, metadata={
        "description": f"1 to {CATEGORY_NAME_MAX_CHARS} characters, one line."})
    slug = fields.String(required=True, validate=[validate.Length(min=1, max=CATEGORY_NAME_MAX_CHARS), SLUG], metadata={
        "description": "Unique; lower-case letters, digits and single hyphens, e.g. `garden-tools`.",
        "example": "garden-tools"})
    parent_id = fields.UUID(load_default=None, allow_none=True, metadata={
        "description": "The parent category; null or absent for a top-level one."})


class CategoryUpdateSchema(Schema):
    """What to change; a field left out stays as it is. `parent_id: null` moves the category to the top."""

    name = Text(max_chars=CATEGORY_NAME_MAX_CHARS, multiline=False, required_text=True)
    slug = fields.String(validate=[validate.Length(min=1, max=CATEGORY_NAME_MAX_CHARS), SLUG])
    parent_id = fields.UUID(allow_none=True, metadata={
        "description": "The new parent (not the category itself nor one of its sub-categories); null: top level."})


# --- items -------------------------------------------------------------------------------

def _title(**kwargs) -> Text:
    return Text(max_chars=TITLE_MAX_CHARS, multiline=False, required_text=True, metadata={
        "description": f"1 to {TITLE_MAX_CHARS} characters, one line; surrounding whitespace is removed."}, **kwargs)


def _description(**kwargs) -> Text:
    return Text(max_chars=DESCRIPTION_MAX_CHARS, multiline=True, required_text=False, metadata={
        "description": f"At most {DESCRIPTION_MAX_CHARS} characters; line breaks allowed."}, **kwargs)


def _price(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=PRICE_MAX_MINOR), metadata={
        "description": f"The unit price in the currency's minor units (cents for EUR), 0 to {PRICE_MAX_MINOR}."},
        **kwargs)


def _quantity(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=QUANTITY_MAX), metadata={
        "description": f"Units for sale, 1 to {QUANTITY_MAX}."}, **kwargs)


class ItemCreateSchema(Schema):
    title = _title(required=True)
    description = _description(load_default="")
    category_id = fields.UUID(required=True, metadata={"description": "An existing category."})
    price_minor = _price(required=True)
    currency = fields.String(required=True, validate=CURRENCY, metadata={"description": "ISO 4217 code.",
                                                                         "example": "EUR"})
    quantity = _quantity(required=True)
    condition = fields.String(required=True, validate=validate.OneOf(CONDITIONS))


class ItemUpdateSchema(Schema):
    """What to change; a field left out stays as it is (none may be null)."""

    title = _title()
    description = _description()
    category_id = fields.UUID(metadata={"description": "An existing category."})
    price_minor = _price()
    currency = fields.String(validate=CURRENCY, metadata={"description": "ISO 4217 code.", "example": "EUR"})
    quantity = _quantity()
    condition = fields.String(validate=validate.OneOf(CONDITIONS))


class ItemImageSchema(Schema):
    id = fields.UUID(dump_only=True)
    position = fields.Integer(dump_only=True, metadata={"description": "0 for the first (the one lists show)."})
    urls = fields.Function(lambda image: image_urls(get_value(image, "item_id"), get_value(image, "id")),
                           dump_only=True, metadata={**URLS_METADATA, "description": (
                               f"URL of each rendition ({SIZES_TEXT} px, the longest side; WebP).")})


class ItemSummarySchema(Schema):
    """An item as lists show it."""

    id = fields.UUID(dump_only=True)
    seller_id = fields.UUID(dump_only=True)
    seller_username = fields.Function(lambda row: get_value(row, "seller_username") or None, dump_only=True,
                                      allow_none=True, metadata={"type": "string", "description": (
                                          "null until the seller's registration reaches the marketplace.")})
    title = fields.String(dump_only=True)
    category_id = fields.UUID(dump_only=True)
    price_minor = fields.Integer(dump_only=True, metadata={"description": "Unit price, minor units."})
    currency = fields.String(dump_only=True)
    condition = fields.String(dump_only=True, metadata={"enum": list(CONDITIONS)})
    quantity = fields.Integer(dump_only=True, metadata={"description": "Units not yet sold."})
    available = fields.Integer(dump_only=True, metadata={
        "description": "Units one may buy now: not sold, not held by a pending order."})
    status = fields.String(dump_only=True, metadata={"enum": list(ITEM_STATUSES), "description": (
        "available (units free), reserved (all remaining units held by pending orders), sold (none left), "
        "removed (by its seller or moderation; only in my own list).")})
    image = fields.Function(lambda row: image_urls(get_value(row, "id"), get_value(row, "image_id")),
                            dump_only=True, allow_none=True, metadata={**URLS_METADATA, "description": (
                                "URL of each rendition of the first image, or null without images.")})
    created_at = fields.AwareDateTime(dump_only=True)


class OwnItemSchema(ItemSummarySchema):
    """One of my items, in my list."""

    updated_at = fields.AwareDateTime(dump_only=True)
    removed_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class ItemSchema(OwnItemSchema):
    """An item's page."""

    description = fields.String(dump_only=True)
    category_name = fields.String(dump_only=True)
    category_slug = fields.String(dump_only=True)
    images = fields.Nested(ItemImageSchema, many=True, dump_only=True, metadata={
        "description": "In the seller's order."})


class MyItemsQuery(PageArgs):
    pass


class ItemSearchQuery(PageArgs):
    q = fields.String(validate=validate.Length(min=1, max=QUERY_MAX_CHARS), metadata={
        "description": "Words to find in titles and descriptions (web-search syntax: \"a phrase\", or, -word; "
                       "English stemming)."})
    category = fields.UUID(metadata={"description": "A category id: items in it and all its sub-categories."})
    min_price = fields.Integer(strict=False, validate=validate.Range(min=0, max=PRICE_MAX_MINOR), metadata={
        "description": "Lowest unit price, minor units (give `currency` too: prices compare as numbers)."})
    max_price = fields.Integer(strict=False, validate=validate.Range(min=0, max=PRICE_MAX_MINOR), metadata={
        "description": "Highest unit price, minor units."})
    currency = fields.String(validate=CURRENCY, metadata={"example": "EUR"})
    condition = fields.String(validate=validate.OneOf(CONDITIONS))
    seller = fields.UUID(metadata={"description": "A seller's user id."})
    available = fields.Boolean(load_default=False, metadata={
        "description": "true: only items with units one can buy now; false (default): sold and reserved ones "
                       "too (removed ones are never found)."})
    sort = fields.String(load_default="newest", validate=validate.OneOf(SORTS), metadata={
        "description": "newest (default), price_asc, price_desc, or relevance (needs q): the newest "
                       f"{RELEVANCE_WINDOW:,} matches, best match first (every match is found in the other orders)."})


# --- images ------------------------------------------------------------------------------

class ImageUploadSchema(Schema):
    image = Upload(required=True, metadata={"description": (
        f"The picture: JPEG, PNG or WebP (judged by its content), at most 5 MB and 40 megapixels. It is "
        f"re-encoded as WebP fitting {SIZES_TEXT} px (aspect ratio kept), without any metadata; the upload "
        f"itself is not kept. An item has at most {MAX_IMAGES_PER_ITEM} images.")})


class ImageOrderSchema(Schema):
    image_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(max=MAX_IMAGES_PER_ITEM),
                            metadata={"description": "Every image of the item, each once, in the new order."})


class ImageListSchema(Schema):
    images = fields.Nested(ItemImageSchema, many=True, dump_only=True)


# --- buying: the cart, checkout, orders and their payment, sold lines and sales ---------------------------

MAX_QUANTITY = 10_000
AVAILABILITY = ("available", "insufficient", "in_order", "unavailable")


class IdempotencyHeaders(Schema):
    """The `Idempotency-Key` header a checkout or a payment requires (a retry sends the same one)."""

    idempotency_key = fields.String(required=True, data_key=HEADER, validate=validate.Length(min=1, max=KEY_MAX_CHARS),
                                    metadata={"description": "The client's unique key for this request; a retry "
                                                             "with the same key and body gets the first answer."})


# --- the cart ---------------------------------------------------------------------------------------------------

class CartItemAddSchema(Schema):
    """An item to put in my cart; already there, its quantity grows by `quantity`."""

    item_id = fields.UUID(required=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_QUANTITY))


class CartItemUpdateSchema(Schema):
    """The quantity of an item I want."""

    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_QUANTITY))


class CartLineSchema(Schema):
    item_id = fields.UUID(dump_only=True)
    seller_id = fields.UUID(dump_only=True)
    title = fields.String(dump_only=True)
    unit_price_minor = fields.Integer(dump_only=True, metadata={"description": "The item's price now."})
    currency = fields.String(dump_only=True, metadata={"example": "EUR"})
    quantity = fields.Integer(dump_only=True)
    line_total_minor = fields.Integer(dump_only=True)
    available_quantity = fields.Integer(dump_only=True, metadata={
        "description": "Units of the item anyone can still check out (0 when it cannot be bought at all)."})
    availability = fields.String(dump_only=True, validate=validate.OneOf(AVAILABILITY), metadata={
        "description": "available: checkout can take the line as it is; insufficient: fewer units are available "
                       "than the line wants; in_order: one of my pending orders holds it (pay or cancel that "
                       "order); unavailable: removed, sold out, its seller banned, or one of us blocks the other."})
    pending_order_id = fields.UUID(dump_only=True, allow_none=True, metadata={
        "description": "My pending order that holds this item, if any."})
    added_at = fields.AwareDateTime(dump_only=True)


class CartTotalSchema(Schema):
    currency = fields.String(dump_only=True, metadata={"example": "EUR"})
    total_minor = fields.Integer(dump_only=True)
    units = fields.Integer(dump_only=True)


class CartSchema(Schema):
    """My cart: its lines priced now, oldest first, and per currency what checking out now would cost (the lines
    whose availability is `available`)."""

    lines = fields.Nested(CartLineSchema, many=True, dump_only=True)
    totals = fields.Nested(CartTotalSchema, many=True, dump_only=True)


# --- checkout ---------------------------------------------------------------------------------------------------

class AddressText(fields.String):
    """A line of an address: surrounding whitespace stripped, not empty, no control characters."""

    def __init__(self, *, max_chars: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_chars = max_chars

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise ValidationError("Must not be empty.")
        if len(text) > self.max_chars:
            raise ValidationError(f"At most {self.max_chars} characters.")
        if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in text):
            raise ValidationError("Must not contain control or formatting characters.")
        return text


class CountryCode(fields.String):
    """An ISO 3166-1 alpha-2 country code (either case; kept upper-case)."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        code = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
            raise ValidationError("Must be an ISO 3166-1 alpha-2 country code, e.g. DE.")
        return code


class ShippingAddressSchema(Schema):
    name = AddressText(required=True, max_chars=100)
    line1 = AddressText(required=True, max_chars=200)
    line2 = AddressText(load_default=None, allow_none=True, max_chars=200)
    city = AddressText(required=True, max_chars=100)
    postal_code = AddressText(required=True, max_chars=20)
    country = CountryCode(required=True, metadata={"example": "DE"})


class CheckoutSchema(Schema):
    """Check out my cart's lines in one currency (the cart's only one when `currency` is left out)."""

    shipping_address = fields.Nested(ShippingAddressSchema, required=True)
    currency = fields.String(load_default=None, validate=CURRENCY, metadata={
        "description": "Which of the cart's currencies to check out; required when the cart holds several.",
        "example": "EUR"})


# --- orders and payment -----------------------------------------------------------------------------------------

class CardSchema(Schema):
    number = fields.String(required=True, validate=validate.Length(max=32), metadata={
        "description": "The card number (spaces and dashes allowed); never stored or logged.",
        "example": "4242424242424242"})
    exp_month = fields.Integer(required=True, metadata={"example": 12})
    exp_year = fields.Integer(required=True, validate=validate.Range(min=0, max=9999), metadata={
        "description": "Four digits, or two (20YY).", "example": 2030})
    cvc = fields.String(required=True, validate=validate.Length(max=8), metadata={
        "description": "3 digits (4 for American Express); never stored or logged.", "example": "123"})


class PaySchema(Schema):
    card = fields.Nested(CardSchema, required=True)


class OrderLineSchema(Schema):
    item_id = fields.UUID(dump_only=True)
    seller_id = fields.UUID(dump_only=True)
    title = fields.String(dump_only=True, metadata={"description": "The item's title at checkout."})
    unit_price_minor = fields.Integer(dump_only=True, metadata={"description": "The price at checkout."})
    currency = fields.String(dump_only=True)
    quantity = fields.Integer(dump_only=True)
    line_total_minor = fields.Integer(dump_only=True)


class PaymentSchema(Schema):
    """An attempt to pay the order: what the provider answered, and the card by brand and last four digits."""

    id = fields.UUID(dump_only=True)
    outcome = fields.String(dump_only=True, validate=validate.OneOf(PAYMENT_OUTCOMES))
    reason = fields.String(dump_only=True, allow_none=True)
    amount_minor = fields.Integer(dump_only=True)
    currency = fields.String(dump_only=True)
    card_brand = fields.String(dump_only=True, metadata={"example": "visa"})
    card_last4 = fields.String(dump_only=True, metadata={"example": "4242"})
    created_at = fields.AwareDateTime(dump_only=True)


class AddressSchema(Schema):
    name = fields.String(dump_only=True)
    line1 = fields.String(dump_only=True)
    line2 = fields.String(dump_only=True, allow_none=True)
    city = fields.String(dump_only=True)
    postal_code = fields.String(dump_only=True)
    country = fields.String(dump_only=True)


class OrderSchema(Schema):
    """One of my orders: `pending` (its items reserved until `reserved_until`) until paid, cancelled or expired."""

    id = fields.UUID(dump_only=True)
    buyer_id = fields.UUID(dump_only=True)
    status = fields.String(dump_only=True, validate=validate.OneOf(ORDER_STATUSES))
    total_minor = fields.Integer(dump_only=True)
    currency = fields.String(dump_only=True)
    lines = fields.Nested(OrderLineSchema, many=True, dump_only=True)
    shipping_address = fields.Nested(AddressSchema, dump_only=True)
    reserved_until = fields.AwareDateTime(dump_only=True)
    failure_reason = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "Why the last payment attempt failed (null once paid, or before any attempt)."})
    payments = fields.Nested(PaymentSchema, many=True, dump_only=True)
    placed_at = fields.AwareDateTime(dump_only=True)
    paid_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    closed_at = fields.AwareDateTime(dump_only=True, allow_none=True, metadata={
        "description": "When it was cancelled or expired."})


class SoldLineSchema(Schema):
    """A line of someone's order for one of my items."""

    order_id = fields.UUID(dump_only=True)
    order_status = fields.String(dump_only=True, validate=validate.OneOf(ORDER_STATUSES))
    buyer_id = fields.UUID(dump_only=True)
    item_id = fields.UUID(dump_only=True)
    title = fields.String(dump_only=True)
    unit_price_minor = fields.Integer(dump_only=True)
    currency = fields.String(dump_only=True)
    quantity = fields.Integer(dump_only=True)
    line_total_minor = fields.Integer(dump_only=True)
    placed_at = fields.AwareDateTime(dump_only=True)
    paid_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    shipping_address = fields.Nested(AddressSchema, dump_only=True, allow_none=True, metadata={
        "description": "Where to send it, once the order is paid (null before)."})


class SoldLineQuery(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(ORDER_STATUSES), metadata={
        "description": "Only lines of orders in this status."})


# --- sales ------------------------------------------------------------------------------------------------------

class RevenueSchema(Schema):
    currency = fields.String(dump_only=True)
    revenue_minor = fields.Integer(dump_only=True)
    units = fields.Integer(dump_only=True)
    orders = fields.Integer(dump_only=True)


class MonthRevenueSchema(Schema):
    month = fields.String(dump_only=True, metadata={"description": "YYYY-MM (UTC) of payment.", "example": "2025-06"})
    currency = fields.String(dump_only=True)
    revenue_minor = fields.Integer(dump_only=True)
    units = fields.Integer(dump_only=True)


class ItemRevenueSchema(Schema):
    item_id = fields.UUID(dump_only=True)
    title = fields.String(dump_only=True, metadata={"description": "The item's current title."})
    currency = fields.String(dump_only=True)
    revenue_minor = fields.Integer(dump_only=True)
    units = fields.Integer(dump_only=True)


class SalesSchema(Schema):
    """My sales, from paid orders only: revenue per currency, units, unique buyers, and revenue by month and by
    item (each in its currency)."""

    revenue = fields.Nested(RevenueSchema, many=True, dump_only=True)
    units = fields.Integer(dump_only=True)
    unique_buyers = fields.Integer(dump_only=True)
    by_month = fields.Nested(MonthRevenueSchema, many=True, dump_only=True)
    by_item = fields.Nested(ItemRevenueSchema, many=True, dump_only=True)
