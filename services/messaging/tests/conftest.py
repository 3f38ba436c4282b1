import pytest

from messaging import create_app
from messaging.events import handlers as messaging_handlers


@pytest.fixture(scope="session")
def app(migrated_app):
    return migrated_app(create_app)


@pytest.fixture
def handlers():
    return messaging_handlers
