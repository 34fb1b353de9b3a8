Feature: Administration
  Admins manage users (quotas, roles, activity, credits), read the audit log and watch how
  the providers and their accounts are doing. Nobody else can.

  Background:
    Given an admin "root"
    And a user "alice"

  Scenario Outline: Only admins can <action>
    When "alice" tries to <action>
    Then the request is refused as forbidden
    And "alice@example.com" is a user with the role "user" and 1000 credits
    And "alice" may create 100 jobs a day and run 4 at a time

    Examples:
      | action                     |
      | list the provider accounts |
      | add a shared account       |
      | change a shared account    |
      | remove a shared account    |
      | list the users             |
      | raise her own daily limit  |
      | make herself an admin      |
      | grant herself credits      |
      | read the audit log         |
      | read the statistics        |

  Scenario: An admin lowers a user's daily job limit
    When "root" sets the daily job limit of "alice" to 1
    Then "alice" may create 1 job a day and run 4 at a time
    When "alice" submits an image job "one"
    And "alice" submits an image job "two"
    Then the request is refused as over quota

  Scenario: An admin lifts a user's daily job limit
    Given a user "carol" allowed 1 job a day
    And "carol" has submitted an image job "one"
    When "root" removes the daily job limit of "carol"
    And "carol" submits an image job "two"
    Then the request succeeds
    And "carol" may create any number of jobs a day

  Scenario: A user made an admin gets the admin quota
    When "root" makes "alice" an admin
    Then "alice@example.com" is a user with the role "admin" and 1000 credits
    And "alice" may create any number of jobs a day

  Scenario: A deactivated user is signed out at once and cannot log in again
    Given "alice" is signed in on her laptop
    When "root" deactivates "alice"
    Then the request succeeds
    And her laptop is signed out
    And "alice" cannot log in anymore

  Scenario: An admin cannot deactivate themselves
    When "root" deactivates "root"
    Then the request is refused as a conflict

  Scenario: An admin grants credits
    When "root" grants "alice" 500 credits
    Then the request succeeds
    And "alice" has 1500 credits to spend and 0 on hold
    And the credits ledger is balanced

  Scenario: The audit log records who did what, newest first
    Given a shared account "pool"
    When "root" adds a shared account "studio" with the secret "sk-live-4242" and 500 credits
    And "root" grants "alice" 500 credits
    And "alice" submits an image job "fox"
    And the workers run
    Then the audit log, as "root" reads it, begins with
      | who    | did                | to     |
      | system | job.complete       | fox    |
      | alice  | job.create         | fox    |
      | root   | user.grant_credits | alice  |
      | root   | account.create     | studio |
    And the audit log of "root", as "root" reads it, holds only
      | who  | did                | to     |
      | root | user.grant_credits | alice  |
      | root | account.create     | studio |

  Scenario: Statistics show how the provider and each of its accounts are doing
    Given a shared account "flaky" with priority 10 and room for 1 job at a time
    And a shared account "steady" with priority 0
    And "alice" has submitted an image job "a" whose first account rejects the key
    And "alice" has submitted an image job "b"
    And "alice" has submitted an image job "c" that the provider rejects as inappropriate
    And "alice" has submitted an image job "d" that the provider takes 50 seconds to make
    And "alice" has submitted an image job "e" scheduled in 60 minutes
    When the workers run for 30 seconds
    Then "root" sees 2 completed, 1 failed, 1 processing and 1 pending jobs for provider "sim"
    And "root" sees account "flaky" of provider "sim" with 0 successes and 1 failure
    And "root" sees account "steady" of provider "sim" with 2 successes and 0 failures
