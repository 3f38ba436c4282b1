from servicekit.testing import ServiceContract

from messaging.models import Base


class TestTheMessagingService(ServiceContract):
    service = "messaging"
    metadata = Base.metadata
