import pytest
from cryptography.fernet import Fernet

from auth import create_app
from auth.events import handlers as auth_handlers

# Test-only secrets: generated per run, never a default in config.py.
TEST_SECRETS = {"SECRET_KEY": Fernet.generate_key().decode(), "DATA_KEYS": Fernet.generate_key().decode(),
                "POW_DIFFICULTY_BITS": 8}


@pytest.fixture(scope="session")
def app(migrated_app, tmp_path_factory):
    return migrated_app(create_app, DOCUMENTS_DIR=str(tmp_path_factory.mktemp("documents")), **TEST_SECRETS)


@pytest.fixture
def handlers():
    return auth_handlers
