import pytest

from ledger import create_app
from ledger.events import handlers as ledger_handlers


@pytest.fixture(scope="session")
def app(migrated_app):
    return migrated_app(create_app)


@pytest.fixture
def handlers():
    return ledger_handlers
