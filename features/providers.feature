Feature: Provider catalogue and quotes
  The gateway lists the providers it offers, with their operations, the parameters each
  takes and their prices, and prices a job without creating it.

  Scenario: The catalogue lists the simulator and what it offers
    Then the catalogue offers provider "sim" named "pixrelay simulator"
    And provider "sim" offers text to image, image to image, text to video, image to video, video extend, video transition and upscale
    And every operation of provider "sim" has a price in credits and a schema for its parameters

  Scenario Outline: A quote follows the provider's prices
    When a quote is asked for <what>
    Then the quote is <credits> credits

    Examples:
      | what                          | credits |
      | an image                      | 1       |
      | 3 images                      | 3       |
      | a 7 second video              | 7       |
      | a video of the default length | 4       |
      | an upscale                    | 1       |

  Scenario: A quote holds nothing and creates no job
    Given a user "alice"
    When a quote is asked for 3 images
    Then the quote is 3 credits
    And "alice" has 1000 credits to spend and 0 on hold
    And "alice" has 0 jobs

  Scenario: Creating the job holds exactly what was quoted
    Given a user "alice"
    When a 7 second video is quoted first
    And "alice" submits a 7 second video job "waves"
    Then "alice" holds exactly the quoted credits for job "waves"

  Scenario Outline: What the provider does not offer cannot be quoted
    When a quote is asked for <what>
    Then the request is refused as invalid

    Examples:
      | what                          |
      | an image from provider "acme" |
      | 9 images                      |
      | a 30 second video             |
      | a teleportation               |
