pytest_plugins = ["tests.services_s3", "tests.services_redis", "tests.services_db"]
