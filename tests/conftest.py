pytest_plugins = ["tests.services_s3", "tests.services_redis"]
