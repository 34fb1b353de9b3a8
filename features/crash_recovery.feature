Feature: Recovering from crashed workers
  A worker holds a lease on the job it works on. When it dies the lease runs out and another
  worker carries on where it stopped: a job the provider already has is never sent again,
  and no place on an account and no credit hold is left behind.

  Background:
    Given a user "alice"
    And a shared account "pool"

  Scenario: Another worker resumes a job whose worker crashed while the provider worked on it
    Given "alice" has submitted an image job "fox" that the provider takes 30 seconds to make
    When a worker takes job "fox", sends it to the provider and crashes
    Then job "fox" is processing
    And no other worker can take job "fox" yet
    When its lease runs out and the other workers run
    Then job "fox" is completed
    And the provider was asked to make job "fox" only once
    And account "pool" has 0 jobs running
    And "alice" has 999 credits to spend and 0 on hold
    And the credits ledger is balanced

  Scenario: A job whose answer from the provider was lost is found again, not sent twice
    Given "alice" has submitted an image job "fox" that the provider takes 5 seconds to make
    When a worker sends job "fox" to the provider but crashes before hearing back
    Then job "fox" has been sent to the provider, but its answer was never recorded
    And no other worker can take job "fox" yet
    When its lease runs out and the other workers run
    Then job "fox" is completed
    And the provider was asked to make job "fox" only once
    And account "pool" has 0 jobs running

  Scenario: A crash right after choosing an account leaves no place taken on it
    Given "alice" has submitted an image job "fox"
    When a worker takes job "fox", reserves an account for it and crashes
    Then account "pool" has 1 job running
    When its lease runs out and the other workers run
    Then job "fox" is completed
    And job "fox" was tried 1 time
    And account "pool" has 0 jobs running
    And "alice" has 999 credits to spend and 0 on hold

  Scenario: A worker whose lease ran out cannot change the job any more
    Given "alice" has submitted an image job "fox"
    When a worker takes job "fox" and stalls
    And its lease runs out and another worker takes the job
    And the stalled worker carries on with its job
    Then the stalled worker is told the job is no longer its own
    And account "pool" has 1 job running
    And job "fox" was tried 1 time
    And nothing of job "fox" has reached the provider yet
    When its lease runs out and the other workers run
    Then job "fox" is completed
    And the provider was asked to make job "fox" only once
