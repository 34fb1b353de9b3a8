Feature: Sessions
  Every login is a session. Its access token works until the session ends, on every
  replica at once; its refresh token can be traded for a new pair exactly once.

  Background:
    Given "alice@example.com" has registered

  Scenario: Refreshing rotates the refresh token
    Given "alice@example.com" is signed in on her laptop
    When she refreshes the session on her laptop
    Then she gets a new refresh token for the session on her laptop
    And the new access token identifies "alice@example.com"
    And the new refresh token can be traded once more

  Scenario: Presenting an already used refresh token ends the whole session
    Given "alice@example.com" is signed in on her laptop
    And she has refreshed the session on her laptop
    When the first refresh token of her laptop is presented again
    Then the request is refused as not signed in
    And the latest refresh token no longer works
    And her laptop is signed out

  Scenario: Logging out takes effect at once, on that device only
    Given "alice@example.com" is signed in on her laptop
    And "alice@example.com" is signed in on her phone
    When she logs out on her laptop
    Then her laptop is signed out
    And the refresh token of her laptop no longer works
    And her phone is still signed in

  Scenario: Ending every session at once
    Given "alice@example.com" is signed in on her laptop
    And "alice@example.com" is signed in on her phone
    When "alice@example.com" ends all her sessions
    Then 2 sessions were ended
    And her laptop is signed out
    And her phone is signed out
    And "alice@example.com" has 0 live sessions

  Scenario: Ending the session of a lost phone
    Given "alice@example.com" is signed in on her laptop
    And "alice@example.com" is signed in on her phone
    When "alice@example.com" ends the phone session
    Then the request succeeds
    And her phone is signed out
    And the refresh token of her phone no longer works
    And the only live session of "alice@example.com" is the one on her laptop

  Scenario: Nobody can end someone else's session
    Given "bob@example.com" has registered
    And "alice@example.com" is signed in on her laptop
    When "bob@example.com" ends the laptop session
    Then the request is refused as not found
    And her laptop is still signed in

  Scenario: Repeated wrong passwords from one address lock the email out there for a while
    When someone tries the password "wrong password" for "alice@example.com" 10 times
    Then every one of those attempts was refused as not signed in
    When "alice@example.com" logs in with the right password
    Then the request is refused as rate limited
    And she is told to retry later

  Scenario: Logging in does not use up any limit
    When "alice@example.com" logs in with the right password 60 times
    Then every one of those logins succeeded

  Scenario: Guessing from many addresses cannot lock her out where she usually logs in
    Given "alice@example.com" is signed in on her phone
    And "alice@example.com" has logged out everywhere
    When someone tries the password "guess" for "alice@example.com" from 100 different addresses
    Then every one of those attempts was refused as not signed in
    When someone tries the password "guess" for "alice@example.com" from 1 different address
    Then every one of those attempts was refused as rate limited
    When "alice@example.com" logs in with the right password from "198.51.100.200"
    Then the request is refused as rate limited
    When "alice@example.com" logs in with the right password from "203.0.113.50"
    Then the login succeeds

  Scenario: Locking out one email does not lock out another
    Given "bob@example.com" has registered
    When someone tries the password "wrong password" for "alice@example.com" 10 times
    And "bob@example.com" logs in with the right password
    Then the login succeeds

  Scenario: Too many attempts from one address are refused whatever the email
    When someone at "203.0.113.9" tries the password "guess" for 50 different emails
    And "alice@example.com" logs in with the right password from "203.0.113.9"
    Then the request is refused as rate limited
    When "alice@example.com" logs in with the right password from "198.51.100.7"
    Then the login succeeds
