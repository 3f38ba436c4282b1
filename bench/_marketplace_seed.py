"""bench/marketplace.py's seed: a category tree, sellers (the marketplace's users read model), blocks and
--items items in the native stack's marketplace database, written straight into its tables (COPY into a
staging table, then one INSERT ... ON CONFLICT DO NOTHING per table), kept for the next run.

Not a benchmark itself (`make bench` skips bench/ modules whose name starts with "_").

What is seeded, and why it looks the way it does:
- categories: 11 top-level categories, 37 leaves (50 in all), two of them three levels deep (Electronics > Computers >
  Laptops, Books, Music & Film > Instruments > Guitars): a search by a top-level category walks a real
  subtree. Slugs start with "bench-" (that is how the seed is found again and never collides with a
  category someone made by hand).
- users: SELLERS sellers as auth's and social's events would have left them (verified; every 50th banned,
  so their items must drop out of search and their pages).
- blocks: 20,000 between sellers (a table of realistic size for the anti-joins); the bench adds each
  signed-in searcher's own blocks every run.
- items: title = [adjective] [brand] noun [detail], description = 2 to 6 sentences (condition, story,
  colour and materials, features, sometimes a model code, where to pick it up), every word drawn with a
  Zipf-like skew from its pool, so that a full-text query finds a quarter of the items ("black"), a few
  thousand ("vintage"), a few hundred ("tweed", "bergen"), a handful (two words) or one (a model code).
  Prices log-normal around each leaf's typical price, in EUR (80%), USD or GBP; conditions new..poor;
  mostly one unit; 6% sold out, 3% removed; listed over the last two years. Every STOCK_EVERY-th item is a
  shop item with STOCK_QUANTITY units from one of the first SHOP_SELLERS sellers (never banned, never
  blocked by the bench's users): what the checkout load buys.

Ids are derived from each thing's number (uuid5), and each item from a random generator seeded with its
number: seeding again adds only what is missing, and the same items every time.
"""
from __future__ import annotations

import datetime as dt
import math
import random
import re
import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from _tables import copy_rows

NAMESPACE = uuid.UUID("6f1c0e4a-5b7d-4e2a-9c3f-8d1b2a7e6c50")
SLUG_PREFIX = "bench-"
SELLERS = 5_000
SEEDED_BLOCKS = 20_000
BANNED_EVERY = 50               # seller n is banned when n % BANNED_EVERY == 13
STOCK_EVERY = 500               # item n is a shop item when n % STOCK_EVERY == 0
STOCK_QUANTITY = 100_000
SHOP_SELLERS = 100              # shop items are sold by sellers 1..SHOP_SELLERS (never banned)
LISTED_OVER_DAYS = 730


def item_id(n: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"item:{n}")


def seller_id(n: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"seller:{n}")


def category_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"category:{slug}")


def is_banned(seller: int) -> bool:
    return seller % BANNED_EVERY == 13


# --- the vocabulary --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Leaf:
    slug: str
    name: str
    nouns: tuple[str, ...]
    typical_price: int          # minor units


# (top-level name, [(child name, nouns or [grandchildren], typical price)])
TREE = [
    ("Electronics", [
        ("Phones & Tablets", "phone smartphone tablet charger case stylus", 25_000),
        ("Computers", [("Laptops", "laptop notebook ultrabook chromebook", 60_000),
                       ("Computer Parts", "keyboard mouse monitor motherboard processor ssd router", 8_000)]),
        ("Audio", "headphones earbuds speaker amplifier turntable soundbar microphone receiver", 12_000),
        ("Cameras", "camera lens tripod flash drone camcorder", 35_000),
        ("Gaming", "console controller headset game handheld", 15_000),
    ]),
    ("Home & Garden", [
        ("Furniture", "sofa armchair table chair bookshelf wardrobe desk dresser stool bench", 18_000),
        ("Kitchen", "blender kettle toaster cookware knives espresso mixer pan grinder", 6_000),
        ("Lighting", "lamp chandelier lantern pendant sconce", 5_000),
        ("Garden", "lawnmower trimmer planter hose wheelbarrow shovel barbecue", 9_000),
        ("Decor", "mirror rug vase clock curtains cushion frame", 4_000),
    ]),
    ("Fashion", [
        ("Women's Clothing", "dress skirt blouse coat cardigan jumpsuit", 4_500),
        ("Men's Clothing", "jacket shirt jeans suit sweater hoodie", 5_000),
        ("Shoes", "sneakers boots sandals loafers heels", 6_000),
        ("Bags & Accessories", "backpack handbag wallet belt scarf sunglasses", 5_500),
        ("Jewellery & Watches", "watch necklace ring bracelet earrings brooch", 12_000),
    ]),
    ("Sports & Outdoors", [
        ("Cycling", "bicycle bike helmet saddle pump panniers", 30_000),
        ("Camping", "tent sleeping_bag stove hammock cooler", 8_000),
        ("Fitness", "dumbbells kettlebell treadmill rower mat", 10_000),
        ("Winter Sports", "skis snowboard goggles bindings", 15_000),
        ("Water Sports", "kayak paddle wetsuit surfboard", 25_000),
    ]),
    ("Books, Music & Film", [
        ("Books", "novel cookbook atlas comic textbook biography", 1_200),
        ("Records & CDs", "record vinyl album cd", 2_000),
        ("Films", "dvd blu-ray boxset", 1_000),
        ("Instruments", [("Guitars", "guitar bass ukulele", 40_000),
                         ("Keyboards & Pianos", "piano keyboard synthesizer", 55_000)]),
    ]),
    ("Toys & Kids", [
        ("Toys", "puzzle doll blocks train figure playset", 2_500),
        ("Baby", "stroller crib highchair carrier", 12_000),
    ]),
    ("Collectibles & Art", [
        ("Art", "painting print poster sculpture drawing", 15_000),
        ("Coins & Stamps", "coin stamp banknote medal", 3_000),
        ("Antiques", "teapot typewriter chest gramophone candlestick", 9_000),
    ]),
    ("Vehicles & Parts", [
        ("Car Parts", "tyres wheels headlight roofbox", 20_000),
        ("Motorcycle Gear", "helmet jacket gloves", 15_000),
    ]),
    ("Pets", [("Pet Supplies", "aquarium cage kennel leash scratcher", 3_500)]),
    ("Tools", [("Power Tools", "drill saw sander grinder", 9_000),
               ("Hand Tools", "toolbox wrench chisel hammer", 2_500)]),
    ("Health & Beauty", [("Beauty", "hairdryer straightener perfume mirror", 3_000)]),
]

# The pools each word is drawn from, the most common first (zipf()).
ADJECTIVES = ("black white vintage small large new wooden grey blue red leather classic modern compact "
              "green brown silver retro handmade portable wireless electric steel oak pink yellow folding "
              "adjustable waterproof antique rustic minimalist orange purple walnut pine bamboo ceramic "
              "cast-iron brass chrome velvet linen wool cashmere suede mahogany teak rattan marble "
              "art_deco mid-century bauhaus scandinavian victorian edwardian georgian").split()
BRANDS = ("nordvik alder kestrel brightline halcyon orla fenwick tamsin corvid larkspur maris quillon "
          "ardent solvay bramwell cinder delphi elmore fathom galloway hartwell ingram juniper kelvin "
          "lowther merrow northcote ostrander pellam quarry rowan sable thistle umber vantage wexford "
          "yarrow zephyr").split()
DETAILS = ("set of 2, with box, boxed, 2 pieces, size M, size L, size S, pair, bundle, as new, spares or "
           "repair, with accessories, 3 pieces, XL, family size, collector's edition, limited edition, "
           "signed, first edition").split(", ")
CONDITION_PHRASES = ("in very good condition", "in good condition", "in excellent condition", "like new",
                     "barely used", "well loved but working", "with a few scratches", "in perfect working order",
                     "with light signs of wear", "never used, still in its packaging",
                     "with a small dent on one side", "fully serviced last month")
STORIES = ("Selling because I am moving abroad.", "Bought last year, used only a few times.",
           "It no longer fits our flat.", "Upgraded to a newer one.", "A present I never used.",
           "Clearing out the attic.", "From a smoke-free and pet-free home.",
           "Kept in storage for the last two years.", "Our children have outgrown it.",
           "Inherited from my grandmother.", "Bought new from the shop, receipt included.",
           "Works perfectly, just not needed any more.", "Selling on behalf of a neighbour.",
           "Original packaging and manual included.", "Collection only, too heavy to post.")
COLOURS = ("black white grey navy blue red green beige brown cream olive burgundy teal mustard charcoal "
           "lilac turquoise ivory copper silver gold").split()
MATERIALS = ("cotton plastic steel wood oak leather glass aluminium pine wool ceramic rubber bamboo linen "
             "walnut brass velvet marble cork rattan titanium carbon mahogany cashmere").split()
CITIES = ("Berlin Munich Hamburg Vienna Zurich Amsterdam Rotterdam Brussels Antwerp Paris Lyon Marseille "
          "Madrid Barcelona Valencia Lisbon Porto Rome Milan Turin Naples Florence Bologna Prague Brno "
          "Warsaw Krakow Gdansk Budapest Bratislava Ljubljana Zagreb Copenhagen Aarhus Stockholm Gothenburg "
          "Oslo Bergen Helsinki Tampere Tallinn Riga Vilnius Dublin Cork Edinburgh Glasgow Manchester Leeds "
          "Bristol Cardiff Belfast Luxembourg Geneva Basel Innsbruck Salzburg Graz Seville Bilbao").split()
FEATURES = ("bluetooth usb-c rechargeable ergonomic foldable stackable dishwasher-safe machine-washable unlocked "
            "refurbished noise-cancelling hdmi oled 4k dual-sim organic vegan stainless extendable reversible "
            "insulated breathable lightweight heavy-duty cordless magnetic dimmable tempered upholstered "
            "embroidered quilted engraved lacquered enamelled gilded distressed reupholstered monogrammed "
            "hand-stitched dovetailed bevelled patinated tortoiseshell mother-of-pearl filigree cloisonne "
            "marquetry damask jacquard chenille boucle corduroy gingham houndstooth herringbone paisley "
            "seersucker tweed chambray gabardine shagreen ormolu majolica delftware celadon raku sgraffito "
            "lustreware pewter verdigris bakelite catalin lucite tamboured parquetry japanned scagliola "
            "intarsia pietra-dura repousse guilloche niello vermeil").split()
CODE_LETTERS = "abcdefghjkmnprstvwxz"
CONDITIONS = (("new", 0.15), ("like_new", 0.25), ("good", 0.35), ("fair", 0.18), ("poor", 0.07))
CURRENCIES = (("EUR", 0.80), ("USD", 0.12), ("GBP", 0.08))


def zipf(pick: random.Random, pool, skew: float = 2.2):
    """An element of `pool`, the first ones far more often than the last (its index ~ len * u^skew)."""
    return pool[int(len(pool) * pick.random() ** skew)]


def weighted(pick: random.Random, choices) -> str:
    r = pick.random()
    for value, weight in choices:
        r -= weight
        if r < 0:
            return value
    return choices[-1][0]


def slugify(name: str) -> str:
    """"Books, Music & Film" -> "bench-books-music-and-film"."""
    return SLUG_PREFIX + re.sub(r"[^a-z0-9]+", "-", name.lower().replace("&", "and").replace("'", "")).strip("-")


def categories() -> tuple[list[tuple[uuid.UUID, uuid.UUID | None, str, str]], list[tuple[uuid.UUID, Leaf]]]:
    """The tree as rows (id, parent id, name, slug), parents first, and the leaves items go in."""
    rows, leaves = [], []

    def add(name: str, parent: uuid.UUID | None, content, price: int | None) -> None:
        slug = slugify(name)
        me = category_id(slug)
        rows.append((me, parent, name, slug))
        if isinstance(content, str):
            leaves.append((me, Leaf(slug, name, tuple(content.split()), price)))
        else:
            for child in content:
                add(child[0], me, child[1], child[2] if len(child) > 2 else None)

    for top, children in TREE:
        add(top, None, children, None)
    return rows, leaves


# --- one item ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SeedItem:
    n: int
    seller: int
    category: uuid.UUID
    title: str
    description: str
    price_minor: int
    currency: str
    condition: str
    quantity: int
    status: str
    created_at: dt.datetime
    removed_at: dt.datetime | None


def make_item(n: int, leaves: list[tuple[uuid.UUID, Leaf]], now: dt.datetime) -> SeedItem:
    """Item n, always the same (its own random generator, seeded with n)."""
    pick = random.Random(n * 7919 + 17)
    category, leaf = leaves[int(len(leaves) * pick.random() ** 1.3)]
    noun = zipf(pick, leaf.nouns, 1.5).replace("_", " ")
    words = []
    if pick.random() < 0.7:
        words.append(zipf(pick, ADJECTIVES).replace("_", " "))
    if pick.random() < 0.5:
        words.append(zipf(pick, BRANDS, 1.8).capitalize())
    words.append(noun)
    title = " ".join(words)
    title = title[0].upper() + title[1:]
    if pick.random() < 0.35:
        title += ", " + zipf(pick, DETAILS, 1.6)

    sentences = [f"{noun.capitalize()} {zipf(pick, CONDITION_PHRASES, 1.5)}."]
    if pick.random() < 0.8:
        sentences.append(zipf(pick, STORIES, 1.4))
    if pick.random() < 0.7:
        sentences.append(f"Colour {zipf(pick, COLOURS)}, {zipf(pick, MATERIALS)} and {zipf(pick, MATERIALS)}.")
    if pick.random() < 0.5:
        sentences.append(f"{zipf(pick, FEATURES, 3.0).capitalize()}, {zipf(pick, FEATURES, 3.0)}.")
    if pick.random() < 0.3:
        code = pick.choice(CODE_LETTERS) + pick.choice(CODE_LETTERS) + str(pick.randrange(100, 1000))
        sentences.append(f"Model {code.upper()}.")
    if pick.random() < 0.6:
        sentences.append(f"Pickup in {zipf(pick, CITIES, 1.8)} or shipping at the buyer's cost.")
    description = " ".join(sentences)

    stock = n % STOCK_EVERY == 0
    if stock:
        seller = 1 + (n // STOCK_EVERY) % SHOP_SELLERS
        while is_banned(seller):
            seller += 1
    else:
        seller = 1 + int(SELLERS * pick.random() ** 2)
    price = leaf.typical_price * math.exp(pick.gauss(0, 0.8))
    price_minor = max(100, int(round(price / 100)) * 100 - (1 if pick.random() < 0.3 else 0))
    quantity = STOCK_QUANTITY if stock else (1 if pick.random() < 0.85 else pick.choice((2, 3, 5, 10, 25)))
    created_at = now - dt.timedelta(seconds=pick.random() * LISTED_OVER_DAYS * 86400)
    fate = pick.random()
    removed_at = None
    status = "available"
    if not stock and fate < 0.06:
        quantity, status = 0, "sold"
    elif not stock and fate < 0.09:
        removed_at, status = created_at + (now - created_at) * pick.random(), "removed"
    return SeedItem(n, seller, category, title, description, price_minor, weighted(pick, CURRENCIES),
                    weighted(pick, CONDITIONS), quantity, status, created_at, removed_at)


# --- seeding -----------------------------------------------------------------------------------------------------

def seeded_items(engine: sa.Engine) -> int:
    """How many seeded items the database holds (items in the seed's categories, known by their ids: staff may
    rename a category, and the fuzz tests' staff do)."""
    ids = [row[0] for row in categories()[0]]
    with engine.connect() as connection:
        return connection.scalar(sa.text("SELECT count(*) FROM items WHERE category_id = ANY(:ids)"), {"ids": ids})


def seed(engine: sa.Engine, count: int) -> tuple[int, bool]:
    """Make sure the seed's `count` items are there (and its categories, sellers and blocks): (how many
    seeded items there are, whether this call added any)."""
    present = seeded_items(engine)
    if present >= count:
        return present, False
    started = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    rows, leaves = categories()
    pick = random.Random(42)
    with engine.begin() as connection:
        for category, parent, name, slug in rows:   # parents first: the foreign key holds at every row
            connection.execute(sa.text(
                "INSERT INTO categories (id, parent_id, name, slug) VALUES (:id, :parent, :name, :slug) "
                "ON CONFLICT DO NOTHING"), {"id": category, "parent": parent, "name": name, "slug": slug})
        copy_rows(connection, "users", "user_id, username, verified, banned",
              ((seller_id(n), f"{zipf(pick, BRANDS, 1.0)}_{n}", True, is_banned(n)) for n in range(1, SELLERS + 1)))
        copy_rows(connection, "blocks", "blocker_id, blocked_id",
              {(seller_id(pick.randrange(1, SELLERS + 1)), seller_id(pick.randrange(1, SELLERS + 1)))
               for _ in range(SEEDED_BLOCKS)}, where="blocker_id <> blocked_id")
        items = (make_item(n, leaves, now) for n in range(1, count + 1))
        added = copy_rows(connection, "items", "id, seller_id, category_id, title, description, price_minor, currency, "
                                           "condition, quantity, reserved, status, created_at, updated_at, removed_at",
                      ((item_id(i.n), seller_id(i.seller), i.category, i.title, i.description, i.price_minor,
                        i.currency, i.condition, i.quantity, 0, i.status, i.created_at.isoformat(),
                        (i.removed_at or i.created_at).isoformat(), i.removed_at and i.removed_at.isoformat())
                       for i in items))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE categories, users, blocks, items")
    print(f"seeded {added:,} items ({count:,} in all), {len(rows)} categories, {SELLERS:,} sellers and "
          f"{SEEDED_BLOCKS:,} blocks straight into the marketplace's tables (COPY, then INSERT ... SELECT) "
          f"in {time.monotonic() - started:.0f}s", flush=True)
    return seeded_items(engine), True


def remove_seed(engine: sa.Engine) -> None:
    """Delete the seed: its items with the orders that bought them (the bench's own), its sellers, their blocks
    and its categories."""
    seeded = sa.text("SELECT items.id FROM items JOIN categories ON categories.id = items.category_id "
                     "WHERE categories.slug LIKE :prefix")
    params = {"prefix": SLUG_PREFIX + "%"}
    sellers = [seller_id(n) for n in range(1, SELLERS + 1)]
    with engine.begin() as connection:
        orders = connection.execute(sa.text(
            f"DELETE FROM orders WHERE id IN (SELECT order_id FROM order_lines WHERE item_id IN ({seeded.text}))"),
            params).rowcount
        items = connection.execute(sa.text(f"DELETE FROM items WHERE id IN ({seeded.text})"), params).rowcount
        connection.execute(sa.text("DELETE FROM blocks WHERE blocker_id = ANY(:ids) OR blocked_id = ANY(:ids)"),
                           {"ids": sellers})
        users = connection.execute(sa.text("DELETE FROM users WHERE user_id = ANY(:ids)"), {"ids": sellers}).rowcount
        categories_deleted = 0
        while True:  # leaves first: the tree's foreign key
            deleted = connection.execute(sa.text(
                "DELETE FROM categories c WHERE slug LIKE :prefix "
                "AND NOT EXISTS (SELECT 1 FROM categories child WHERE child.parent_id = c.id)"), params).rowcount
            categories_deleted += deleted
            if not deleted:
                break
    print(f"removed {items:,} seeded items, {orders:,} orders of them, {users:,} sellers and {categories_deleted} "
          "categories")
