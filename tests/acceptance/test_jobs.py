from pytest_bdd import scenarios

scenarios("jobs.feature")
