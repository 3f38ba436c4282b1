from servicekit.testing import ServiceContract

from auth.models import Base


class TestTheAuthService(ServiceContract):
    service = "auth"
    metadata = Base.metadata
    session_ending_operations = ("POST /api/auth/logout",)
