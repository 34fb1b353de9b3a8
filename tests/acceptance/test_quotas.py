from pytest_bdd import scenarios

scenarios("quotas.feature")
