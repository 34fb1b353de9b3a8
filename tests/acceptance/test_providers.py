from pytest_bdd import scenarios

scenarios("providers.feature")
