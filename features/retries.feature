Feature: Retries and account failover
  A provider error is classified. Temporary errors cool the account down and the job is
  retried on another account; a rejected key takes the account out of service; content
  the provider refuses fails the job at once. A job never costs anything unless it completes.

  Background:
    Given a user "alice"

  Scenario: A temporary error is retried on another account
    Given a shared account "first" with priority 10
    And a shared account "second" with priority 1
    When "alice" submits an image job "fox" that fails once with a temporary error
    And the workers run
    Then job "fox" is pending
    And account "first" is cooling down
    When the workers run for 1 minute
    Then job "fox" is completed
    And job "fox" was tried on "first" then "second"
    And "alice" has 999 credits to spend and 0 on hold
    And "alice" was charged 1 credit today

  Scenario: A rejected key takes the account out of service and the job moves on
    Given a shared account "first" with priority 10
    And a shared account "second" with priority 1
    When "alice" submits an image job "fox" whose first account rejects the key
    And the workers run for 1 minute
    Then job "fox" is completed
    And job "fox" was tried on "first" then "second"
    And account "first" is disabled
    And account "second" is active

  Scenario: When every attempt fails, the job fails and its credits come back
    Given a shared account "a" whose key the provider rejects
    And a shared account "b" whose key the provider rejects
    And a shared account "c" whose key the provider rejects
    When "alice" submits an image job "fox" for 2 images
    And the workers run for 5 minutes
    Then job "fox" has failed because the provider rejected every account
    And job "fox" was tried 3 times
    And accounts "a", "b" and "c" are disabled
    And "alice" has 1000 credits to spend and 0 on hold
    And the credits ledger is balanced

  Scenario: Content the provider rejects fails at once, without a retry or a charge
    Given a shared account "pool"
    When "alice" submits an image job "fox" that the provider rejects as inappropriate
    And the workers run for 1 minute
    Then job "fox" has failed because the content was rejected
    And job "fox" was tried 1 time
    And account "pool" is active
    And "alice" has 1000 credits to spend and 0 on hold

  Scenario: With no other account, the job waits out the cooldown and retries
    Given a shared account "only"
    When "alice" submits an image job "fox" that fails once with a temporary error
    And the workers run
    Then job "fox" is pending
    And account "only" is cooling down
    When the workers run for 1 minute
    Then job "fox" is completed
    And job "fox" was tried on "only" then "only"
    And account "only" is active

  Scenario: A retry never goes back to the account that failed the job, even once it is available again
    Given an admin "root"
    And a shared account "first" with priority 10
    And a shared account "second" with priority 1
    When "alice" submits an image job "fox" that fails once with a temporary error
    And the workers run
    And "root" sets account "first" to active
    And the workers run for 1 minute
    Then job "fox" is completed
    And job "fox" was tried on "first" then "second"

  Scenario: A retry waits for a busy account rather than go back to the one that failed the job
    Given a shared account "first" with priority 10 and room for 1 job at a time
    And a shared account "second" with room for 1 job at a time
    And "alice" has submitted an image job "fox" that fails once with a temporary error
    And "alice" has submitted an image job "long" that the provider takes 60 seconds to make
    When the workers run for 2 minutes
    Then job "long" ran on account "second"
    And job "fox" was tried on "first" then "second"
