from pytest_bdd import scenarios

scenarios("credits.feature")
