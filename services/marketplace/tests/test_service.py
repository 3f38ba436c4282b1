from servicekit.testing import ServiceContract

from marketplace.models import Base


class TestTheMarketplaceService(ServiceContract):
    service = "marketplace"
    metadata = Base.metadata
