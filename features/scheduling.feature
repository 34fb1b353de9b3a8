Feature: Scheduled and dependent jobs
  A job can be scheduled for later, given a priority, or made to wait for another job and
  use its result. Workers take due jobs best priority first, then oldest first.

  Background:
    Given a user "alice"
    And a shared account "pool" with room for 10 jobs at a time

  Scenario: A scheduled job waits for its time
    When "alice" submits an image job "morning" scheduled in 60 minutes
    And the workers run for 30 minutes
    Then job "morning" is pending
    And the provider was never asked to make job "morning"
    When the workers run for 31 minutes
    Then job "morning" is completed

  Scenario Outline: The job with the better priority is taken first
    Given "alice" has submitted an image job "earlier" with priority <earlier>
    And "alice" has submitted an image job "later" with priority <later>
    When a worker takes a single job
    Then job "<first>" is completed
    And job "<second>" is pending

    Examples:
      | earlier | later | first   | second  |
      | 9       | 0     | later   | earlier |
      | 0       | 9     | earlier | later   |
      | 5       | 5     | earlier | later   |

  Scenario: A job waits for the job it depends on
    Given "alice" has submitted an image job "still" that the provider takes 20 seconds to make
    And "alice" has submitted an animation "clip" made from the result of job "still"
    When the workers run
    Then job "still" is processing
    And job "clip" is pending
    And the provider was never asked to make job "clip"
    When the workers run for 1 minute
    Then jobs "still" and "clip" are completed

  Scenario: A dependent job uses the result of the job it waited for
    Given "alice" has submitted an image job "still"
    And "alice" has submitted an animation "clip" made from the result of job "still"
    When the workers run for 1 minute
    Then job "clip" produced 1 video
    And the result of "clip" was made from the result of "still"

  Scenario: When a job fails, the jobs waiting for it fail too and give their credits back
    Given "alice" has submitted an image job "parent" that the provider rejects as inappropriate
    And "alice" has submitted a variation "child" that waits for job "parent"
    And "alice" has submitted an image job "grandchild" that waits for job "child"
    When the workers run
    Then job "parent" has failed because the content was rejected
    And jobs "child" and "grandchild" have failed because their parent failed
    And "alice" has 1000 credits to spend and 0 on hold

  Scenario: Cancelling a job fails the jobs waiting for it
    Given "alice" has submitted an image job "parent" scheduled in 60 minutes
    And "alice" has submitted a variation "child" that waits for job "parent"
    When "alice" cancels job "parent"
    Then job "parent" is cancelled
    And job "child" has failed because its parent failed
    And "alice" has 1000 credits to spend and 0 on hold

  Scenario: A job cannot wait for a job that already failed
    Given "alice" has submitted an image job "parent" that the provider rejects as inappropriate
    And the workers have run
    When "alice" submits a variation "child" that waits for job "parent"
    Then the request is refused as a conflict
