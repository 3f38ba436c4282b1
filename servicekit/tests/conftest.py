import uuid

import pytest
import sqlalchemy as sa

from servicekit.context import context_of
from servicekit.tables import metadata as servicekit_metadata
from servicekit.testing import EventProbe, delete_namespace

import demo_service as demo


@pytest.fixture
def namespace(amqp_url):
    """A bus namespace of this test alone, so no event crosses from one test to another."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    delete_namespace(amqp_url, name, ["test"])


@pytest.fixture
def overrides(settings_overrides, namespace):
    """Overrides for a demo app on a fresh database with servicekit's tables and the demo tables."""
    overrides = settings_overrides("servicekit", BUS_NAMESPACE=namespace)
    engine = sa.create_engine(overrides["DATABASE_URL"])
    servicekit_metadata.create_all(engine)
    demo.metadata.create_all(engine)
    engine.dispose()
    return overrides


@pytest.fixture
def app(overrides):
    app = demo.create_app(overrides)
    yield app
    context_of(app).db.dispose()


@pytest.fixture
def app_with(overrides):
    """`app_with(**overrides)`: a demo app with settings changed from the test defaults."""
    apps = []

    def make(**changes):
        apps.append(demo.create_app({**overrides, **changes}))
        return apps[-1]
    yield make
    for app in apps:
        context_of(app).db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def probe(amqp_url, namespace):
    """Sees every event published in this test's namespace."""
    probe = EventProbe(amqp_url, namespace)
    yield probe
    probe.close()
