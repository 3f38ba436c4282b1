from servicekit.testing import ServiceContract


class TestTheLedgerService(ServiceContract):
    service = "ledger"
