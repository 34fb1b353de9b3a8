from pytest_bdd import scenarios

scenarios("admin_accounts.feature")
