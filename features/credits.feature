Feature: Credits
  Creating a job holds its estimated price on the user's credits. Completion charges it;
  a job that fails, is cancelled or is rejected gives the hold back. A double-entry ledger
  records every movement, so no credit is ever made up or lost.

  Background:
    Given a shared account "pool"

  Scenario: Creating a job holds its price
    Given a user "alice"
    When "alice" submits an image job "foxes" for 3 images
    Then the request succeeds
    And "alice" has 997 credits to spend and 3 on hold

  Scenario: Completing a job charges the held credits
    Given a user "alice"
    When "alice" submits an image job "foxes" for 3 images
    And the workers run
    Then job "foxes" is completed
    And "alice" has 997 credits to spend and 0 on hold
    And "alice" was charged 3 credits today
    And the credits ledger is balanced

  Scenario Outline: The hold comes back when a job does not complete
    Given a user "alice"
    And "alice" has submitted <job>
    When <it ends>
    Then job "fox" is <status>
    And "alice" has 1000 credits to spend and 0 on hold
    And "alice" was charged 0 credits today
    And the credits ledger is balanced

    Examples:
      | job                                                                        | it ends                   | status    |
      | an image job "fox" for 2 images that the provider rejects as inappropriate | the workers run           | failed    |
      | an image job "fox" for 2 images                                            | "alice" cancels job "fox" | cancelled |

  Scenario: A job that costs more than the user has is refused
    Given a user "alice" with 2 credits
    When "alice" submits an image job "foxes" for 3 images
    Then the request is refused as short of credits
    And "alice" has 2 credits to spend and 0 on hold
    And "alice" has 0 jobs
    And today's usage of "alice" is 0 jobs created, 0 completed and 0 assets made

  Scenario: A job that costs exactly what the user has is accepted
    Given a user "alice" with 3 credits
    When "alice" submits an image job "foxes" for 3 images
    Then the request succeeds
    And "alice" has 0 credits to spend and 3 on hold

  Scenario: Credits on hold cannot be spent twice
    Given a user "alice" with 3 credits
    And "alice" has submitted an image job "first" for 2 images
    When "alice" submits an image job "second" for 2 images
    Then the request is refused as short of credits
    And "alice" has 1 credit to spend and 2 on hold

  Scenario: A video costs a credit per second
    Given a user "alice"
    When "alice" submits a 7 second video job "waves"
    Then "alice" has 993 credits to spend and 7 on hold

  Scenario: The ledger stays balanced through every kind of ending
    Given a user "alice"
    And a user "bob"
    And "alice" has submitted an image job "done" for 2 images
    And "alice" has submitted an image job "rejected" that the provider rejects as inappropriate
    And "alice" has submitted an image job "dropped" scheduled in 60 minutes
    And "bob" has submitted a 4 second video job "clip"
    And "bob" has submitted an image job "slow" that the provider takes 60 seconds to make
    When the workers run
    And "alice" cancels job "dropped"
    Then "alice" has 998 credits to spend and 0 on hold
    And "bob" has 995 credits to spend and 1 on hold
    And the credits ledger is balanced
