from servicekit.testing import ServiceContract


class TestTheSocialService(ServiceContract):
    service = "social"
