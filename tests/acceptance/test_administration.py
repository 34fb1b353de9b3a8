from pytest_bdd import scenarios

scenarios("administration.feature")
