from pytest_bdd import scenarios

scenarios("uploads.feature")
