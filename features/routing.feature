Feature: Routing across providers
  A model alias that several providers serve, or the provider "auto", lets pixrelay choose:
  a provider with a free account and a closed circuit first, then the cheapest, then the
  fastest. When the provider fails the job (an outage, an open circuit, a rejected key) the
  job fails over to the next provider; content a provider refuses fails at once. The job
  says where it runs and why.

  Background:
    Given a user "alice"
    And the model alias "quick-image" is served by "sim" for 1 credit and by "sim_b" for 2 credits
    And a shared account "first"
    And a shared "sim_b" account "second"

  Scenario: The cheapest provider with a free account gets the job, for its own price
    When "alice" requests an image job "fox" from the model "quick-image"
    Then job "fox" is routed to "sim/image" because "cheapest available"
    When the workers run
    Then job "fox" is completed
    And "alice" has 999 credits to spend and 0 on hold

  Scenario: A provider whose circuit is open is routed around
    Given the circuit of provider "sim" is open
    When "alice" requests an image job "fox" from the model "quick-image"
    Then job "fox" is routed to "sim_b/image" because "cheapest available: sim circuit open"
    When the workers run
    Then job "fox" is completed
    And "alice" has 998 credits to spend and 0 on hold

  Scenario: When its provider's circuit opens, the job fails over and completes on the other
    When "alice" requests an image job "fox" from the model "quick-image"
    And the circuit of provider "sim" is open
    And the workers run
    Then job "fox" is completed
    And job "fox" is routed to "sim_b/image" because "failover: sim circuit open"
    And job "fox" was tried 1 time
    And job "fox" ran on account "second"
    And "alice" has 998 credits to spend and 0 on hold

  Scenario: A rejected key fails over to the other provider
    Given a user "bob"
    And "bob" has a private account "bad" whose key the provider rejects
    When "bob" requests an image job "owl" from the model "quick-image"
    And the workers run for 1 minute
    Then job "owl" is completed
    And job "owl" is routed to "sim_b/image" because "failover: sim account key rejected"
    And job "owl" was tried on "bad" then "second"

  Scenario: Content a provider refuses fails at once, without failing over
    When "alice" requests an image job "fox" from the model "quick-image" that the provider rejects as inappropriate
    And the workers run for 1 minute
    Then job "fox" has failed because the content was rejected
    And job "fox" is routed to "sim/image" because "cheapest available"
    And job "fox" was tried on "first"
    And "alice" has 1000 credits to spend and 0 on hold

  Scenario: The provider "auto" routes among every provider's default model
    When "alice" requests an image job "fox" from any provider
    Then job "fox" is routed to "sim/image" because "cheapest available"
    When the workers run
    Then job "fox" is completed
