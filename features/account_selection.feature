Feature: Choosing a provider account
  Every job runs on the best account free at that moment: the user's own private accounts
  first, then the highest priority, then the one least recently used, then the one with the
  most credits. Accounts cooling down are passed over until their cooldown ends; exhausted
  and disabled accounts are never used. When no account is free, the job waits.

  Background:
    Given a user "alice"

  Scenario: The user's private account comes before the shared pool
    Given a shared account "pool" with priority 100
    And "alice" has a private account "mine"
    When "alice" submits an image job "fox"
    And the workers run
    Then job "fox" ran on account "mine"

  Scenario: Someone else's private account is never used
    Given a user "bob"
    And "bob" has a private account "bob's own"
    And a shared account "pool"
    When "alice" submits an image job "fox"
    And "bob" submits an image job "owl"
    And the workers run
    Then job "fox" ran on account "pool"
    And job "owl" ran on account "bob's own"

  Scenario: The account with the highest priority is chosen
    Given a shared account "low" with priority 1
    And a shared account "high" with priority 5
    And a shared account "middle" with priority 3
    When "alice" submits an image job "fox"
    And the workers run
    Then job "fox" ran on account "high"

  Scenario: Equally ranked accounts take turns, least recently used first
    Given a shared account "rich" with priority 0 and 20000 credits
    And a shared account "modest" with priority 0 and 10000 credits
    When "alice" submits an image job "one"
    And a worker takes a single job
    And "alice" submits an image job "two"
    And a worker takes a single job
    And "alice" submits an image job "three"
    And a worker takes a single job
    Then job "one" ran on account "rich"
    And job "two" ran on account "modest"
    And job "three" ran on account "rich"

  Scenario: An account cooling down is passed over, and used again once the cooldown ends
    Given a shared account "best" with priority 10
    And a shared account "backup" with priority 0
    And account "best" is cooling down for 5 minutes
    When "alice" submits an image job "during"
    And the workers run
    And 6 minutes pass
    And "alice" submits an image job "after"
    And the workers run
    Then job "during" ran on account "backup"
    And job "after" ran on account "best"
    And account "best" is active

  Scenario: When every account is cooling down the job waits rather than fails
    Given a shared account "only"
    And account "only" is cooling down for 5 minutes
    When "alice" submits an image job "fox"
    And the workers run for 2 minutes
    Then job "fox" is pending
    And the provider was never asked to make job "fox"
    When the workers run for 5 minutes
    Then job "fox" is completed
    And job "fox" ran on account "only"

  Scenario Outline: An <state> account is never used
    Given a shared account "best" with priority 10
    And a shared account "backup" with priority 0
    And account "best" is <state>
    When "alice" submits an image job "fox"
    And the workers run
    Then job "fox" ran on account "backup"

    Examples:
      | state     |
      | exhausted |
      | disabled  |

  Scenario Outline: A job waits rather than run on an <state> account
    Given a shared account "only"
    And account "only" is <state>
    When "alice" submits an image job "fox"
    And the workers run for 10 minutes
    Then job "fox" is pending
    And the provider was never asked to make job "fox"

    Examples:
      | state     |
      | exhausted |
      | disabled  |

  Scenario: An account without enough credits for the job is passed over
    Given a shared account "poor" with priority 10 and 2 credits
    And a shared account "backup" with priority 0
    When "alice" submits an image job "fox" for 3 images
    And the workers run
    Then job "fox" ran on account "backup"
    And account "poor" has 2 credits

  Scenario: A full account makes the next job wait for a free place
    Given a shared account "solo" with room for 1 job at a time
    When "alice" submits an image job "first" that the provider takes 30 seconds to make
    And "alice" submits an image job "second"
    And the workers run
    Then job "first" is processing
    And job "second" is pending
    And account "solo" has 1 job running
    When the workers run for 1 minute
    Then jobs "first" and "second" are completed
    And job "second" ran on account "solo"
    And account "solo" has 0 jobs running

  Scenario: However many workers run side by side, an account never takes more jobs than it has room for
    Given a shared account "pool" with room for 2 jobs at a time
    And 6 image jobs from "alice" are waiting, each of which the provider takes 30 seconds to make
    When 4 workers run side by side
    Then account "pool" has 2 jobs running
    And 2 of "alice"'s jobs are processing and 4 are pending
    When 4 workers keep running side by side for 3 minutes
    Then all of "alice"'s jobs are completed
    And the provider was asked to make each of "alice"'s jobs only once
    And account "pool" has 0 jobs running
