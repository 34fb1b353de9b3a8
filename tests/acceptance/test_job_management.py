from pytest_bdd import scenarios

scenarios("job_management.feature")
