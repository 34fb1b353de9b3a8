from pytest_bdd import scenarios

scenarios("password.feature")
