from pytest_bdd import scenarios

scenarios("webhooks.feature")
