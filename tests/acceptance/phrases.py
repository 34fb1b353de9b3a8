"""The small vocabulary the feature files speak: job descriptions, refusals, statuses.

A job description is a head naming the job and its kind, then any modifiers, e.g.
  an image job "fox" for 3 images with priority 0
  a 7 second video job "waves" that the provider takes 20 seconds to make
  a variation "sketch" of "cat.png"
  an animation "clip" made from the result of job "still"
  a variation "child" that waits for job "parent"
Anything left unread is an error, so a typo in a feature file fails loudly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from domain.accounts import AccountStatus
from domain.assets import MediaType
from domain.errors import ErrorCode
from domain.jobs import JobStatus


@dataclass(frozen=True)
class JobOrder:
    name: str
    operation_type: str
    params: dict[str, Any] = field(default_factory=dict)
    provider_id: str = "sim"
    inputs: tuple[str, ...] = ()
    parent: str | None = None
    priority: int | None = None
    in_minutes: int | None = None
    key: str | None = None


NAME = r'"(?P<name>[^"]+)"'
HEADS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"an image job {NAME}"), "text_to_image"),
    (re.compile(rf"a (?P<seconds>\d+) second video job {NAME}"), "text_to_video"),
    (re.compile(rf"a video job {NAME}"), "text_to_video"),
    (re.compile(rf'a variation {NAME} of "(?P<input>[^"]+)"'), "image_to_image"),
    (re.compile(rf"a variation {NAME}"), "image_to_image"),
    (re.compile(rf"an animation {NAME}"), "image_to_video"),
)


def _params(**params: Any) -> Callable[[JobOrder, re.Match[str]], JobOrder]:
    return lambda order, _: replace(order, params={**order.params, **params})


MODIFIERS: tuple[tuple[re.Pattern[str], Callable[[JobOrder, re.Match[str]], JobOrder]], ...] = (
    (re.compile(r"for (\d+) images"), lambda o, m: replace(o, params={**o.params, "num_images": int(m[1])})),
    (re.compile(r"with priority (\d+)"), lambda o, m: replace(o, priority=int(m[1]))),
    (re.compile(r"scheduled in (\d+) minutes?"), lambda o, m: replace(o, in_minutes=int(m[1]))),
    (re.compile(r"that the provider takes (\d+) seconds to make"),
     lambda o, m: replace(o, params={**o.params, "sim_latency_ms": int(m[1]) * 1000})),
    (re.compile(r"that fails once with a temporary error"), _params(sim_outcome="transient_error")),
    (re.compile(r"that the provider rejects as inappropriate"), _params(sim_outcome="final_error")),
    (re.compile(r"whose first account rejects the key"), _params(sim_outcome="account_error")),
    (re.compile(r'(?:made from the result of|that waits for) job "([^"]+)"'),
     lambda o, m: replace(o, parent=m[1])),
    (re.compile(r'with the key "([^"]+)"'), lambda o, m: replace(o, key=m[1])),
    (re.compile(r'from provider "([^"]+)"'), lambda o, m: replace(o, provider_id=m[1])),
)
SEPARATOR = re.compile(r"^(?:\s|,|and\s)*")


def read_job(description: str) -> JobOrder:
    found = next(((m, op) for pattern, op in HEADS if (m := pattern.match(description))), None)
    if found is None:
        raise ValueError(f"no job kind in {description!r}")
    head, operation_type = found
    groups = head.groupdict()
    order = JobOrder(name=groups["name"], operation_type=operation_type)
    if groups.get("seconds"):
        order = replace(order, params={"seconds": int(groups["seconds"])})
    if groups.get("input"):
        order = replace(order, inputs=(groups["input"],))
    rest = description[head.end():]
    while rest := SEPARATOR.sub("", rest, count=1):
        for pattern, apply in MODIFIERS:
            modifier = pattern.match(rest)
            if modifier is not None:
                order = apply(order, modifier)
                rest = rest[modifier.end():]
                break
        else:
            raise ValueError(f"cannot read {rest!r} in {description!r}")
    return order


# ---------------------------------------------------------------- typed step arguments


def _typed(pattern: str, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return convert(text)

    setattr(parse, "pattern", pattern)  # noqa: B010 (what `parse` matches before converting)
    return parse


REASONS: dict[str, ErrorCode] = {
    "invalid": ErrorCode.VALIDATION_ERROR,
    "not signed in": ErrorCode.UNAUTHENTICATED,
    "forbidden": ErrorCode.FORBIDDEN,
    "not found": ErrorCode.NOT_FOUND,
    "a conflict": ErrorCode.CONFLICT,
    "over quota": ErrorCode.QUOTA_EXCEEDED,
    "rate limited": ErrorCode.RATE_LIMITED,
    "short of credits": ErrorCode.INSUFFICIENT_CREDITS,
    "too large": ErrorCode.PAYLOAD_TOO_LARGE,
    "an unsupported file type": ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    "already finished": ErrorCode.INVALID_TRANSITION,
    "not finished yet": ErrorCode.INVALID_TRANSITION,
    "a different request under the same key": ErrorCode.IDEMPOTENCY_MISMATCH,
}
FAILURE_REASONS: dict[str, str] = {
    "the content was rejected": ErrorCode.CONTENT_MODERATED,
    "its parent failed": ErrorCode.PARENT_FAILED,
    "their parent failed": ErrorCode.PARENT_FAILED,
    "the provider rejected every account": "INVALID_API_KEY",
    "its input is gone": "INPUT_UNAVAILABLE",
}


def _names(text: str) -> list[str]:
    return re.findall(r'"([^"]+)"', text)


TYPES: dict[str, Callable[[str], Any]] = {
    "Reason": _typed("|".join(map(re.escape, REASONS)), REASONS.__getitem__),
    "Failure": _typed("|".join(map(re.escape, FAILURE_REASONS)), FAILURE_REASONS.__getitem__),
    "JobStatus": _typed(r"(?:still )?(?:pending|processing|completed|failed|cancelled)",
                        lambda text: JobStatus(text.removeprefix("still "))),
    "AccountStatus": _typed(r"(?:still )?(?:active|cooling down|disabled|exhausted)",
                            lambda text: AccountStatus(text.removeprefix("still ").replace(" ", "_"))),
    "Names": _typed(r'"[^"]+"(?:(?:, | and | then )"[^"]+")*', _names),
    "Quoted": _typed(r'[^"]+', str),
    "Plural": _typed(r"(?:es|s)?", str),
    "Verb": _typed(r"is|are", str),
    "Media": _typed(r"images?|videos?", lambda text: MediaType(text.removesuffix("s"))),
    "Device": _typed(r"laptop|phone", str),
}
