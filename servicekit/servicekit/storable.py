"""What PostgreSQL can store, so that input it would refuse is a 422 and never a database error.

Text: PostgreSQL's text types refuse NUL, and psycopg2 cannot encode a lone surrogate (which JSON's
"\\ud800" escapes produce). Timestamps: PostgreSQL refuses a UTC offset ("time zone displacement") of
16 hours or more. `servicekit.api` applies these to every request's input, `servicekit.pagination`
to every cursor's values.
"""
from __future__ import annotations

import datetime as dt
import re

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, and surrogates (in a str, only unpaired ones exist)
MAX_UTC_OFFSET = dt.timedelta(hours=16)  # exclusive
OFFSET_MESSAGE = "must have a UTC offset between -15:59 and +15:59"


def storable_text(text: str) -> bool:
    """Whether PostgreSQL can store `text` as it is."""
    return UNSTORABLE.search(text) is None


def storable_moment(moment: dt.datetime) -> bool:
    """Whether PostgreSQL can store `moment` (naive, or with an offset under 16 hours)."""
    offset = moment.utcoffset()
    return offset is None or abs(offset) < MAX_UTC_OFFSET
