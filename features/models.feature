Feature: Model catalog
  A job runs on a model: a provider's own model, with its params and its price. The gateway
  has built-in models; admins add, change and remove models while it runs.

  Scenario: A provider alone runs its default model
    Given a user "alice"
    And a shared account "pool"
    When "alice" submits an image job "fox"
    And the workers run
    Then job "fox" is completed
    And job "fox" ran on model "sim/image", sent to the provider as "image"

  Scenario: A model an admin adds is used by a job from start to end
    Given an admin "root"
    And a user "alice"
    And a shared account "pool"
    When "root" adds the model "sim/image-hq" for text to image at 7 credits per image
    And "alice" asks model "sim/image-hq" for 2 images named "owl"
    And the workers run
    Then job "owl" is completed
    And job "owl" produced 2 images
    And job "owl" ran on model "sim/image-hq", sent to the provider as "image-hq"
    And "alice" was charged 14 credits today
    And the credits ledger is balanced

  Scenario: An admin changes a built-in model's price
    Given an admin "root"
    And a user "alice"
    When "root" sets the price of model "sim/image" to 5 credits per image
    And a quote is asked for 3 images
    Then the quote is 15 credits

  Scenario: A model an admin removes is no longer accepted
    Given an admin "root"
    And a user "alice"
    When "root" removes the model "sim/video"
    And "alice" asks model "sim/video" for a video named "waves"
    Then the request is refused as invalid
