Feature: Quotas
  Each user has a daily job limit, a limit on jobs running at once and a storage limit.
  Daily counts start again at midnight UTC. Jobs over the running limit wait their turn.

  Scenario: The daily job limit refuses the job that passes it
    Given a user "alice" allowed 2 jobs a day
    And "alice" has submitted an image job "one"
    And "alice" has submitted an image job "two"
    When "alice" submits an image job "three"
    Then the request is refused as over quota
    And she is told to retry in 12 hours
    And "alice" has 998 credits to spend and 2 on hold
    And "alice" has 2 jobs

  Scenario: The daily count starts again at midnight UTC
    Given it is 23:50 UTC
    And a user "alice" allowed 1 job a day
    And "alice" has submitted an image job "late"
    When "alice" submits an image job "too late"
    Then the request is refused as over quota
    And she is told to retry in 10 minutes
    When 10 minutes pass
    And "alice" submits an image job "early"
    Then the request succeeds
    And today's usage of "alice" is 1 job created, 0 completed and 0 assets made

  Scenario Outline: Jobs over the running limit wait instead of being refused
    Given a user "alice" allowed to run <limit> jobs at a time
    And a shared account "pool" with room for 10 jobs at a time
    And "alice" has submitted an image job "a" that the provider takes 30 seconds to make
    And "alice" has submitted an image job "b" that the provider takes 30 seconds to make
    And "alice" has submitted an image job "c" that the provider takes 30 seconds to make
    When the workers run
    Then <running> of "alice"'s jobs are processing and <waiting> are pending
    When the workers run for 3 minutes
    Then jobs "a", "b" and "c" are completed

    Examples:
      | limit | running | waiting |
      | 1     | 1       | 2       |
      | 2     | 2       | 1       |

  Scenario: Another user's running jobs do not count against one's limit
    Given a user "alice" allowed to run 1 job at a time
    And a user "bob"
    And a shared account "pool" with room for 10 jobs at a time
    And "bob" has submitted an image job "bob's" that the provider takes 30 seconds to make
    And "alice" has submitted an image job "alice's" that the provider takes 30 seconds to make
    When the workers run
    Then jobs "bob's" and "alice's" are processing

  Scenario: An upload that does not fit in the storage limit is refused
    Given a user "alice" with room for 1000 bytes of storage
    When "alice" uploads "cat.png"
    Then the request is refused as over quota
    And "alice" has 0 assets
    And "alice" stores 0 bytes

  Scenario: Uploads are accepted until the storage is full, and deleting makes room
    Given a user "alice" with room for 3000 bytes of storage
    And "alice" has uploaded "cat.png"
    When "alice" uploads "dog.png"
    Then the request is refused as over quota
    When "alice" deletes "cat.png"
    And "alice" uploads "dog.png"
    Then the request succeeds
    And "alice" has 1 asset

  Scenario: Requests arriving all at once cannot pass the daily limit
    Given a user "alice" allowed 10 jobs a day
    When "alice" sends 30 image jobs at the same moment
    Then 10 of them are accepted and 20 refused as over quota
    And "alice" has 10 jobs
    And "alice" has 990 credits to spend and 10 on hold
