from pytest_bdd import scenarios

scenarios("account_selection.feature")
