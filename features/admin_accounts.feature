Feature: Managing provider accounts
  Admins keep the shared pool of provider accounts; users may bring a few private accounts
  of their own. Once stored, an account's secret is never shown to anyone.

  Background:
    Given an admin "root"

  Scenario: An admin adds a shared account, and its secret is never shown again
    When "root" adds a shared account "studio" with the secret "sk-live-4242" and 500 credits
    Then the request succeeds
    And "root" sees account "studio" as active with 500 credits
    And the secret "sk-live-4242" appears nowhere in what "root" sees

  Scenario: An admin changes an account's priority and capacity
    Given a shared account "studio"
    When "root" changes account "studio" to priority 7 and room for 5 jobs at a time
    Then the request succeeds
    And account "studio" has priority 7 and room for 5 jobs at a time

  Scenario: Setting an account active again ends its cooldown at once
    Given a user "alice"
    And a shared account "studio"
    And account "studio" is cooling down for 10 minutes
    When "root" sets account "studio" to active
    And "alice" submits an image job "fox"
    And the workers run
    Then job "fox" ran on account "studio"

  Scenario: An admin takes an account out of service
    Given a user "alice"
    And a shared account "studio" with priority 10
    And a shared account "backup"
    When "root" sets account "studio" to disabled
    And "alice" submits an image job "fox"
    And the workers run
    Then job "fox" ran on account "backup"

  Scenario: An admin removes an idle account
    Given a shared account "old"
    When "root" removes account "old"
    Then the request succeeds
    And account "old" no longer exists

  Scenario: An account with a job running cannot be removed
    Given a user "alice"
    And a shared account "busy"
    And "alice" has submitted an image job "fox" that the provider takes 60 seconds to make
    And the workers have run
    When "root" removes account "busy"
    Then the request is refused as a conflict
    And account "busy" has 1 job running

  Scenario: Topping up and drawing down an account's credits
    Given a shared account "studio" with 100 credits
    When "root" adds 50 credits to account "studio"
    Then account "studio" has 150 credits
    When "root" takes 500 credits from account "studio"
    Then the request is refused as invalid
    And account "studio" has 150 credits

  Scenario: Users add private accounts up to their limit, and never see the secrets again
    Given a user "alice"
    And "alice" has added private accounts "p1", "p2" and "p3"
    When "alice" adds a private account "p4"
    Then the request is refused as over quota
    And "alice" sees her private accounts "p1", "p2" and "p3", without their secrets

  Scenario: Nobody can remove another user's private account
    Given a user "alice"
    And a user "bob"
    And "alice" has a private account "mine"
    When "bob" removes the private account "mine"
    Then the request is refused as not found
    And "alice" sees her private accounts "mine", without their secrets
