import pytest
import sqlalchemy as sa

from servicekit.tables import metadata as servicekit_metadata

import demo_service as demo


@pytest.fixture
def settings(service_settings, bus_namespace):
    """Overrides for a demo app on a fresh database with servicekit's tables and the demo tables."""
    overrides = service_settings("servicekit")
    engine = sa.create_engine(overrides["DATABASE_URL"])
    servicekit_metadata.create_all(engine)
    demo.metadata.create_all(engine)
    engine.dispose()
    return overrides


@pytest.fixture
def app(settings):
    app = demo.create_app(settings)
    yield app
    app.extensions["servicekit"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()
