from pytest_bdd import scenarios

scenarios("retries.feature")
