import pytest

from marketplace import create_app
from marketplace.events import handlers as marketplace_handlers


@pytest.fixture(scope="session")
def app(migrated_app):
    return migrated_app(create_app)


@pytest.fixture
def handlers():
    return marketplace_handlers
