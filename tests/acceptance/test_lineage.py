from pytest_bdd import scenarios

scenarios("lineage.feature")
