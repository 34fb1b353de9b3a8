Feature: Usage history and the credits ledger
  A user sees what they did day by day, and every credit movement behind their balance:
  grants, holds, captures and releases, each with its job and the balance right after it.
  Admins see the same for anyone; nobody else does.

  Background:
    Given a user "alice"
    And a shared account "pool"

  Scenario: A finished job in the usage and the ledger
    Given "alice" has made an image job "fox"
    Then the usage of "alice" today is 1 job created, 1 completed, 1 asset and 1 credit spent
    And the ledger of "alice" reads, newest first
      | kind    | job | available | held |
      | capture | fox | 999       | 0    |
      | hold    | fox | 999       | 1    |
      | grant   |     | 1000      | 0    |

  Scenario: A cancelled job's hold is released
    Given "alice" has submitted an image job "owl"
    And "alice" has cancelled job "owl"
    Then the ledger of "alice" reads, newest first
      | kind    | job | available | held |
      | release | owl | 1000      | 0    |
      | hold    | owl | 999       | 1    |
      | grant   |     | 1000      | 0    |

  Scenario: Days without use are rows of zeros
    Given "alice" has submitted an image job "monday"
    When 48 hours pass
    And "alice" submits an image job "wednesday"
    Then the usage of "alice" over the last 3 days is 1, 0 and 1 jobs created

  Scenario: Only admins read someone else's history
    Given an admin "root"
    And a user "bob"
    Then "root" can read the usage and ledger of "alice"
    But "bob" cannot read the usage or ledger of "alice"
