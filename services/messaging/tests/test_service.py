from servicekit.testing import ServiceContract


class TestTheMessagingService(ServiceContract):
    service = "messaging"
