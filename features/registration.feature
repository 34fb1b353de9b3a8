Feature: Registration and logging in
  People sign up with an email address, a username and a password. Logging in gives them
  an access token for the API and a refresh token for later.

  Scenario: A new user gets the user role, the signup credits and the standard quota
    When someone registers with email "Alice@Example.com", username "alice" and password "correct horse battery"
    Then the request succeeds
    And "alice@example.com" is a user with the role "user" and 1000 credits
    And "alice@example.com" may create 100 jobs a day and run 4 at a time

  Scenario Outline: An email address can be registered only once, whatever its case
    Given "alice@example.com" has registered
    When someone registers with email "<email>", username "alice2" and password "correct horse battery"
    Then the request is refused as a conflict
    And there is 1 user

    Examples:
      | email             |
      | alice@example.com |
      | ALICE@EXAMPLE.COM |
      | Alice@Example.Com |

  Scenario: A username can be taken only once
    Given "alice@example.com" has registered as "alice"
    When someone registers with email "another@example.com", username "alice" and password "correct horse battery"
    Then the request is refused as a conflict
    And there is 1 user

  Scenario Outline: Registration details are checked
    When someone registers with email "<email>", username "<username>" and password "<password>"
    Then the request is refused as invalid
    And there are 0 users

    Examples:
      | email             | username    | password              |
      | not-an-email      | alice       | correct horse battery |
      | alice@example.com | al          | correct horse battery |
      | alice@example.com | alice smith | correct horse battery |
      | alice@example.com | alice       | short                 |

  Scenario: Logging in gives an access token that identifies the user
    Given "alice@example.com" has registered
    When "alice@example.com" logs in with the right password
    Then the login succeeds
    And the access token identifies "alice@example.com"

  Scenario: The email address is not case-sensitive when logging in
    Given "alice@example.com" has registered
    When "ALICE@Example.COM" logs in with the right password
    Then the login succeeds
    And the access token identifies "alice@example.com"

  Scenario Outline: A wrong password and an unknown email get the same refusal
    Given "alice@example.com" has registered
    When "<email>" logs in with the password "<password>"
    Then the request is refused as not signed in

    Examples:
      | email              | password       |
      | alice@example.com  | wrong password |
      | nobody@example.com | password123    |
