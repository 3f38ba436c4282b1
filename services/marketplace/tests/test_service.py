from servicekit.testing import ServiceContract


class TestTheMarketplaceService(ServiceContract):
    service = "marketplace"
