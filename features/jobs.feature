Feature: Generating images and videos
  A user submits a job. Workers pick it up, run it on one of the provider accounts and keep
  the results as the user's assets, typed by their content.

  Background:
    Given a user "alice"
    And a shared account "pool"

  Scenario: An image job ends with a stored PNG image
    When "alice" submits an image job "fox"
    Then the request succeeds
    And job "fox" is pending
    When the workers run
    Then job "fox" is completed
    And job "fox" produced 1 image
    And the results of job "fox" are stored PNG files
    And job "fox" ran on account "pool"
    And job "fox" was tried 1 time

  Scenario Outline: One job can make several images
    When "alice" submits an image job "foxes" for <count> images
    And the workers run
    Then job "foxes" produced <count> images
    And the results of job "foxes" are stored PNG files
    And "alice" was charged <count> credits today

    Examples:
      | count |
      | 2     |
      | 4     |

  Scenario: A video job ends with a stored video
    When "alice" submits a 3 second video job "waves"
    And the workers run
    Then job "waves" produced 1 video
    And the results of job "waves" are stored animated GIF files
    And "alice" was charged 3 credits today

  Scenario: The results belong to the user and remember where they came from
    When "alice" submits an image job "fox"
    And the workers run
    Then the results of job "fox" are "alice"'s generated assets from provider "sim"
    And today's usage of "alice" is 1 job created, 1 completed and 1 asset made

  Scenario: A job waits while the provider is still working on it
    When "alice" submits an image job "fox" that the provider takes 20 seconds to make
    And the workers run
    Then job "fox" is processing
    When the workers run for 10 seconds
    Then job "fox" is still processing
    When the workers run for 15 seconds
    Then job "fox" is completed
    And the provider was asked to make job "fox" only once

  Scenario: Sending the same request twice with one idempotency key gives the same job
    When "alice" submits an image job "fox" with the key "order-17"
    And "alice" submits an image job "fox" with the key "order-17"
    Then she gets the earlier job "fox" back
    And "alice" has 1 job
    And "alice" has 999 credits to spend and 1 on hold

  Scenario: Another request under a used idempotency key is refused
    Given "alice" has submitted an image job "fox" with the key "order-17"
    When "alice" submits an image job "wolf" with the key "order-17"
    Then the request is refused as a different request under the same key
    And "alice" has 1 job

  Scenario Outline: Requests the provider cannot take are refused before anything is held
    When "alice" submits <request>
    Then the request is refused as <reason>
    And "alice" has 1000 credits to spend and 0 on hold
    And "alice" has 0 jobs

    Examples:
      | request                                       | reason    |
      | an image job "x" from provider "acme"         | invalid   |
      | an image job "x" for 9 images                 | invalid   |
      | an image job "x" with priority 11             | invalid   |
      | a variation "x"                               | invalid   |
      | a variation "x" of "missing.png"              | not found |
      | an image job "x" that waits for job "missing" | not found |

  Scenario: A file used by several jobs is sent to the provider once, until the provider's copy expires
    Given "alice" has uploaded "cat.png"
    When "alice" submits a variation "one" of "cat.png"
    And "alice" submits a variation "two" of "cat.png"
    And the workers run
    Then jobs "one" and "two" are completed
    And the provider has received 1 upload
    When 2 hours pass
    And "alice" submits a variation "three" of "cat.png"
    And the workers run
    Then job "three" is completed
    And the provider has received 2 uploads

  Scenario: A job whose input was deleted before it ran fails and gives its credits back
    Given "alice" has uploaded "cat.png"
    And "alice" has submitted a variation "fox" of "cat.png"
    When "alice" deletes "cat.png"
    And the workers run
    Then job "fox" has failed because its input is gone
    And "alice" has 1000 credits to spend and 0 on hold
