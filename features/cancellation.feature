Feature: Cancelling jobs
  A user may cancel their own unfinished jobs. A pending job stops at once; a running one is
  also stopped at the provider. Either way the credits come back and the account is free again.

  Background:
    Given a user "alice"
    And a shared account "pool"

  Scenario: Cancelling a job that has not started
    Given "alice" has submitted an image job "fox"
    When "alice" cancels job "fox"
    And the workers run
    Then job "fox" is cancelled
    And the provider was never asked to make job "fox"
    And "alice" has 1000 credits to spend and 0 on hold

  Scenario: Cancelling a job the provider is working on
    Given "alice" has submitted an image job "fox" that the provider takes 60 seconds to make
    And the workers have run
    When "alice" cancels job "fox"
    Then job "fox" is cancelled
    And the provider was told to stop job "fox"
    And account "pool" has 0 jobs running
    And "alice" has 1000 credits to spend and 0 on hold
    When the workers run for 2 minutes
    Then job "fox" is still cancelled
    And job "fox" has no results

  Scenario Outline: A finished job cannot be cancelled
    Given "alice" has submitted <job>
    And <it ended>
    When "alice" cancels job "fox"
    Then the request is refused as already finished
    And job "fox" is still <status>

    Examples:
      | job                                                           | it ended                        | status    |
      | an image job "fox"                                            | the workers have run            | completed |
      | an image job "fox" that the provider rejects as inappropriate | the workers have run            | failed    |
      | an image job "fox"                                            | "alice" has cancelled job "fox" | cancelled |

  Scenario: Another user's job cannot be cancelled, or even seen
    Given a user "bob"
    And "alice" has submitted an image job "fox"
    When "bob" cancels job "fox"
    Then the request is refused as not found
    And "bob" cannot see job "fox"
    And job "fox" is still pending
