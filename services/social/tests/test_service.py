from servicekit.testing import ServiceContract

from social.models import Base


class TestTheSocialService(ServiceContract):
    service = "social"
    metadata = Base.metadata
