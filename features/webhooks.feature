Feature: Outbound webhooks
  A user registers URLs that hear about their jobs ending, signed per Standard Webhooks. A
  receiver that is down is tried again for more than a day; what it was sent, and what it
  answered, is in the endpoint's delivery log.

  Background:
    Given a user "alice"
    And a shared account "pool"

  Scenario: A finished job is delivered, signed with the endpoint's secret
    Given "alice" has a webhook endpoint "orders"
    And "alice" has submitted an image job "fox"
    When the workers run
    And the webhooks go out
    Then endpoint "orders" was sent "job.completed" for job "fox" 1 time, signed with its secret
    And the delivery log of "orders" shows attempts answered 200

  Scenario: A receiver that fails three times is retried until it answers
    Given "alice" has a webhook endpoint "orders"
    And the receiver fails 3 times
    And "alice" has submitted an image job "fox"
    When the workers run
    And the webhooks go out for 1 hour
    Then endpoint "orders" was sent "job.completed" for job "fox" 4 times, signed with its secret
    And the delivery log of "orders" shows attempts answered 500, 500, 500, 200

  Scenario: An endpoint that does not take an event is not sent it
    Given "alice" has a webhook endpoint "failures" for "job.failed" only
    And "alice" has submitted an image job "fox"
    When the workers run
    And the webhooks go out
    Then nothing was sent

  Scenario: Another user's endpoint cannot be seen
    Given a user "bob"
    And "alice" has a webhook endpoint "orders"
    Then "bob" cannot see endpoint "orders"
