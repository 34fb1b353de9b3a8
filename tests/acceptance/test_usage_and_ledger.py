from pytest_bdd import scenarios

scenarios("usage_and_ledger.feature")
