"""One engine and sessionmaker per app; a session per request.

No I/O happens here at import or construction time: SQLAlchemy connects lazily,
so each gunicorn worker opens its own pool on first use.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g
from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicekit.context import service_context
from servicekit.outages import outages

# Deterministic constraint names, so Alembic migrations can name what they drop.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """MetaData for a service's models, with the project's naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class Database:
    def __init__(self, url: str, *, pool_size: int = 5, connect_timeout: int = 5) -> None:
        self.engine: Engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"connect_timeout": connect_timeout},
        )
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessionmaker()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessionmaker.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def own_transaction(session: Session) -> Iterator[Session]:
    """A short transaction of its own beside `session`'s, on the same database, committed on leaving.

    For what must stay on record whatever the caller's transaction does next: a login
    attempt written before anything is checked, a proof-of-work solution spent by an
    attempt that is then refused. It does not commit (or see) the caller's work.
    """
    with Session(bind=session.get_bind(), expire_on_commit=False) as other, other.begin():
        yield other


def database() -> Database:
    """The current app's Database."""
    return service_context().db


def request_session() -> Session:
    """The session of the current request, closed (rolled back if uncommitted) at teardown."""
    if "_servicekit_session" not in g:
        g._servicekit_session = database().session()
    return g._servicekit_session


def close_request_session(_exc: BaseException | None = None) -> None:
    session = g.pop("_servicekit_session", None)
    if session is not None:
        session.close()
        if not g.get("database_failed"):
            outages.up("database")  # the request used the database: an outage, if any, is over
