from servicekit.testing import ServiceContract


class TestTheAuthService(ServiceContract):
    service = "auth"
