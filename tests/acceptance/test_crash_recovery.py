from pytest_bdd import scenarios

scenarios("crash_recovery.feature")
