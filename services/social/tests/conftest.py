import pytest

from social import create_app
from social.events import handlers as social_handlers


@pytest.fixture(scope="session")
def app(migrated_app):
    return migrated_app(create_app)


@pytest.fixture
def handlers():
    return social_handlers
