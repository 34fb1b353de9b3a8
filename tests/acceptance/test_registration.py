from pytest_bdd import scenarios

scenarios("registration.feature")
