Feature: Changing one's password
  Knowing the current password, a user picks a new one. Every other session ends at once;
  the device that asked stays signed in.

  Background:
    Given "alice@example.com" has registered
    And "alice@example.com" is signed in on her laptop
    And "alice@example.com" is signed in on her phone

  Scenario: A new password ends the other sessions
    When she changes her password to "a much better passphrase" on her laptop
    Then the request succeeds
    And her laptop is still signed in
    And her phone is signed out
    And the refresh token of her phone no longer works
    And "alice@example.com" logs in with "a much better passphrase" but not with her old password

  Scenario: The current password must be right
    When she changes her password to "a much better passphrase" on her laptop, giving "not my password"
    Then the request is refused as forbidden
    And her phone is still signed in
    And "alice@example.com" can still log in with her old password

  Scenario: A too short new password is refused
    When she changes her password to "short" on her laptop
    Then the request is refused as invalid
