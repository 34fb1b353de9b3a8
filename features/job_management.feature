Feature: Re-running, deleting, finding and batch-submitting jobs
  A failed or cancelled job can be run again as a new job that remembers the old one. A
  finished job can be deleted: it leaves the listings, its money and audit trail stay. Jobs
  are found by the start of their name, and many are submitted in one go, each accepted or
  refused on its own.

  Background:
    Given a user "alice"
    And a shared account "pool"

  Scenario: A cancelled job is run again as a new job
    Given "alice" has submitted an image job "fox"
    And "alice" has cancelled job "fox"
    When "alice" retries job "fox"
    Then the request succeeds
    And the new job re-runs job "fox" and is pending
    When the workers run
    Then the new job is completed

  Scenario: A rejected job run again is the same request, rejected again
    Given "alice" has submitted an image job "fox" that the provider rejects as inappropriate
    And the workers have run
    When "alice" retries job "fox"
    Then the new job re-runs job "fox" and is pending
    When the workers run
    Then the new job is failed
    And "alice" has 1000 credits to spend and 0 on hold

  Scenario: A job that has not ended cannot be retried or deleted
    Given "alice" has submitted an image job "fox"
    When "alice" retries job "fox"
    Then the request is refused as not finished yet
    When "alice" deletes job "fox"
    Then the request is refused as not finished yet

  Scenario: Nobody retries or deletes someone else's job
    Given a user "bob"
    And "alice" has submitted an image job "fox"
    And "alice" has cancelled job "fox"
    When "bob" retries job "fox"
    Then the request is refused as not found
    When "bob" deletes job "fox"
    Then the request is refused as not found

  Scenario: A deleted job leaves the listing, its credits stay accounted for
    Given "alice" has made an image job "fox"
    When "alice" deletes job "fox"
    Then the request succeeds
    And "alice" has 0 jobs
    And "alice" has 999 credits to spend and 0 on hold
    And the credits ledger is balanced

  Scenario: Jobs are found by the start of their name
    Given "alice" has submitted an image job "cat 1"
    And "alice" has submitted an image job "dog"
    And "alice" has submitted an image job "cat 2"
    Then the jobs of "alice" whose names start with "cat" are "cat 2" then "cat 1"

  Scenario: A batch is accepted or refused job by job, within the daily limit
    Given a user "bob" allowed 2 jobs a day
    When "bob" sends a batch of image jobs "a", "b" and "c"
    Then 2 of them are accepted and 1 refused as over quota
    And "bob" has 2 jobs

  Scenario: A batch sent again under its key makes nothing twice
    When "alice" sends a batch of image jobs "a" and "b" under the key "nightly"
    And "alice" sends a batch of image jobs "a" and "b" under the key "nightly"
    Then "alice" has 2 jobs
