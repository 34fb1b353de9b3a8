Feature: Uploading files
  Users upload images, videos and sound to use as inputs. A file's type comes from its
  content, never from its name. Storage is content-addressed: the same bytes are kept once.

  Background:
    Given a user "alice"

  Scenario Outline: The type of a file comes from its content, not from its name
    When "alice" uploads a <format> file named "<name>"
    Then it is stored as <kind> of type "<mime>"

    Examples:
      | format    | name       | kind          | mime            |
      | PNG       | photo.jpg  | an image      | image/png       |
      | JPEG      | photo.png  | an image      | image/jpeg      |
      | GIF       | anim.mp4   | an image      | image/gif       |
      | WebP      | pic.png    | an image      | image/webp      |
      | MP4       | clip.mov   | a video       | video/mp4       |
      | QuickTime | clip.mp4   | a video       | video/quicktime |
      | WebM      | clip.mkv   | a video       | video/webm      |
      | MP3       | song.wav   | an audio file | audio/mpeg      |
      | WAV       | sound.mp3  | an audio file | audio/wav       |
      | FLAC      | track.ogg  | an audio file | audio/flac      |

  Scenario Outline: Files that are not media are refused
    When "alice" uploads a <format> file named "<name>"
    Then the request is refused as an unsupported file type
    And "alice" has 0 assets
    And "alice" stores 0 bytes

    Examples:
      | format     | name        |
      | plain text | notes.png   |
      | PDF        | scan.jpg    |
      | ZIP        | archive.mp4 |

  Scenario: An empty file is refused
    When "alice" uploads an empty file named "nothing.png"
    Then the request is refused as invalid
    And "alice" has 0 assets

  Scenario: An image over the size limit is refused and nothing is kept
    When "alice" uploads a PNG file of 21 MB named "huge.png"
    Then the request is refused as too large
    And "alice" has 0 assets
    And "alice" stores 0 bytes

  Scenario: The size limit depends on the kind of media
    When "alice" uploads an MP4 file of 21 MB named "long.mp4"
    Then it is stored as a video of type "video/mp4"
    And "alice" stores 21000000 bytes

  Scenario: The same bytes uploaded twice give the same asset
    Given "alice" has uploaded "cat.png"
    When "alice" uploads "cat.png" again as "kitty.png"
    Then she gets her earlier "cat.png" back
    And "alice" has 1 asset
    And "alice" stores the bytes of "cat.png" once

  Scenario: Another user uploading the same bytes gets an asset of their own
    Given a user "bob"
    And "alice" has uploaded "cat.png"
    When "bob" uploads "cat.png"
    Then it is a new asset owned by "bob"
    And "alice" has 1 asset
    And "bob" has 1 asset
    And "bob" stores the bytes of "cat.png" once

  Scenario: Users cannot download each other's files
    Given a user "bob"
    And "alice" has uploaded "cat.png"
    Then "bob" cannot download the "cat.png" of "alice"
    And "alice" can still download "cat.png"

  Scenario: A deleted asset is gone for its owner, and so are its bytes
    Given "alice" has uploaded "cat.png"
    When "alice" deletes "cat.png"
    Then the request succeeds
    And "alice" can no longer see the deleted asset
    And "alice" has 0 assets
    And "alice" stores 0 bytes
    And the bytes of the deleted asset are gone from storage

  Scenario: Deleting one's copy leaves another user's copy of the same bytes intact
    Given a user "bob"
    And "alice" has uploaded "cat.png"
    And "bob" has uploaded "cat.png"
    When "alice" deletes "cat.png"
    Then "alice" has 0 assets
    And "bob" can still download "cat.png"
