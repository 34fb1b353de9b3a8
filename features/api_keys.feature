Feature: API keys
  A product's backend holds an API key instead of a person's password. The key is shown
  once and kept only as a hash; it works like a signed-in session within its scopes, and it
  stops at once when revoked, when it expires or when its owner is deactivated.

  Background:
    Given a user "alice"

  Scenario: A key submits and reads jobs until it is revoked
    Given "alice" has an API key "backend"
    When the key "backend" submits an image job "fox"
    Then the request succeeds
    And the key "backend" can read job "fox"
    When "alice" revokes the key "backend"
    Then the request succeeds
    And the key "backend" no longer works
    And "alice" has 0 API keys

  Scenario: A key is shown once and kept only as a hash
    Given "alice" has an API key "backend"
    Then the API keys of "alice" are "backend"
    And nothing stored or listed shows the secret of the key "backend"

  Scenario: A key reaches only its scopes
    Given "alice" has an API key "reader" for "jobs:read"
    Then the key "reader" may read jobs
    But the key "reader" may not submit jobs
    And the key "reader" may not read assets
    And the key "reader" may not make more keys

  Scenario: Only an admin's key may carry the admin scope
    Given an admin "root"
    When "alice" makes an API key "sneaky" for "admin"
    Then the request is refused as forbidden
    When "root" makes an API key "ops" for "admin"
    Then the request succeeds
    And the key "ops" may call the admin routes

  Scenario: An admin mints a key for a user, whose own quota applies
    Given an admin "root"
    And a user "bob" allowed 1 job a day
    And "root" has minted an API key "bob's backend" for "bob"
    When the key "bob's backend" submits an image job "one"
    Then the request succeeds
    When the key "bob's backend" submits an image job "two"
    Then the request is refused as over quota
    And "bob" has 1 job

  Scenario: Only admins mint keys for others
    Given a user "bob"
    When "alice" asks for an API key in the name of "bob"
    Then the request is refused as forbidden

  Scenario: A deactivated user's keys stop at once
    Given an admin "root"
    And "alice" has an API key "backend"
    When "root" deactivates "alice"
    Then the key "backend" no longer works

  Scenario: Nobody can revoke someone else's key
    Given a user "bob"
    And "alice" has an API key "backend"
    When "bob" revokes the key "backend"
    Then the request is refused as not found
    And the key "backend" still works

  Scenario: An expiring key stops at its time
    Given "alice" has an API key "nightly" that expires in 10 minutes
    Then the key "nightly" still works
    When 11 minutes pass
    Then the key "nightly" no longer works

  Scenario: Wrong keys are rate limited per client, and the right key is not
    Given "alice" has an API key "backend"
    When someone at "203.0.113.9" tries 20 wrong API keys
    Then every one of those attempts was refused as not signed in
    When someone at "203.0.113.9" tries a wrong API key
    Then the request is refused as rate limited
    And the key "backend" still works from "203.0.113.9"
