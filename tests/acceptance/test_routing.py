from pytest_bdd import scenarios

scenarios("routing.feature")
