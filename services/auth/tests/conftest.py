import pytest

from auth import create_app
from auth.events import handlers as auth_handlers


@pytest.fixture(scope="session")
def app(migrated_app):
    return migrated_app(create_app)


@pytest.fixture
def handlers():
    return auth_handlers
