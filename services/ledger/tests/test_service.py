from servicekit.testing import ServiceContract

from ledger.models import Base


class TestTheLedgerService(ServiceContract):
    service = "ledger"
    metadata = Base.metadata
