Feature: Lineage
  Every generated asset knows which assets it was made from. The graph can be walked towards
  the sources (ancestors), towards what was made from an asset (descendants), or both, up
  to a number of steps.

  Background:
    Given a user "alice"
    And a shared account "pool"
    And "alice" has uploaded "cat.png"
    And "alice" has made a variation "sketch" of "cat.png"
    And "alice" has made a variation "painting" of "sketch"

  Scenario Outline: Walking the graph in either direction, as far as asked
    When "alice" looks at the <direction> of "<start>" up to <steps> steps away
    Then the graph holds <assets>
    And the graph has <links> links

    Examples:
      | start    | direction   | steps | assets                             | links |
      | painting | ancestors   | 10    | "cat.png", "sketch" and "painting" | 2     |
      | painting | ancestors   | 1     | "sketch" and "painting"            | 1     |
      | cat.png  | descendants | 10    | "cat.png", "sketch" and "painting" | 2     |
      | cat.png  | descendants | 1     | "cat.png" and "sketch"             | 1     |
      | sketch   | both        | 1     | "cat.png", "sketch" and "painting" | 2     |
      | cat.png  | ancestors   | 10    | "cat.png"                          | 0     |

  Scenario: Each link says which job made the asset, and how
    When "alice" looks at the ancestors of "painting"
    Then the graph shows "painting" made from "sketch" as a variation by job "painting"
    And the graph shows "sketch" made from "cat.png" as a variation by job "sketch"

  Scenario: One source can have many descendants
    Given "alice" has made a variation "poster" of "cat.png"
    When "alice" looks at the descendants of "cat.png" up to 1 steps away
    Then the graph holds "cat.png", "sketch" and "poster"
    And the graph has 2 links

  Scenario: A deleted asset stays in the graph as a tombstone
    When "alice" deletes "cat.png"
    And "alice" looks at the ancestors of "painting"
    Then the graph holds "cat.png", "sketch" and "painting"
    And the graph shows "cat.png" as deleted

  Scenario Outline: The walk is bounded
    When "alice" looks at the ancestors of "painting" up to <steps> steps away
    Then the request is refused as invalid

    Examples:
      | steps |
      | 0     |
      | 51    |

  Scenario: Another user cannot look at someone's lineage
    Given a user "bob"
    When "bob" looks at the ancestors of "painting"
    Then the request is refused as not found
