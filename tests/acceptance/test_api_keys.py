from pytest_bdd import scenarios

scenarios("api_keys.feature")
