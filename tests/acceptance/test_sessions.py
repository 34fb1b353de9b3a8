from pytest_bdd import scenarios

scenarios("sessions.feature")
