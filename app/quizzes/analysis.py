"""Quiz statistics as pure functions, after Moodle's quiz statistics report: per-question facility,
spread, discrimination and response frequencies with review flags; whole-test summary with the
coefficient of internal consistency and a score histogram; and the pre-test/post-test gain.

No database here: callers hand in graded attempts as plain dataclasses. Every percentage is on a
0..100 scale. A statistic that is undefined for the data (no attempts, one attempt, zero variance)
is None, never NaN, and nothing divides by zero.

Questions worth 0 points (descriptions) carry no information and are left out everywhere, as in
Moodle. Points are expected to lie in 0..max_points; they are not clamped.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# Review thresholds. These are the common rules of thumb of classical item analysis, not hard
# limits: Moodle's quiz statistics documentation calls a facility index between about 20 % and
# 90 % acceptable and a discrimination index above 30 % good; below 20 % an item barely separates
# stronger from weaker learners, and a negative index (stronger learners do worse on the item)
# usually means a wrong key or a misleading question.
FACILITY_TOO_EASY = 90.0
"""Facility index (%) above which an item is flagged "too_easy"."""
FACILITY_TOO_HARD = 20.0
"""Facility index (%) below which an item is flagged "too_hard"."""
DISCRIMINATION_WEAK = 20.0
"""Discrimination index (%) below which a non-negative index is flagged "weak_discrimination"."""

OTHER_RESPONSES_LIMIT = 10
"""How many responses outside the choice catalogue (e.g. short-answer texts) are listed."""

GAIN_TOLERANCE = 1e-9
"""Percentage-point difference under which a pre/post pair counts as "same"."""

FLAG_LABELS: dict[str, str] = {
    "too_easy": f"Terlalu mudah (indeks kemudahan di atas {FACILITY_TOO_EASY:g}%)",
    "too_hard": f"Terlalu sulit (indeks kemudahan di bawah {FACILITY_TOO_HARD:g}%)",
    "negative_discrimination": "Daya beda negatif: periksa kunci jawaban dan rumusan soal",
    "weak_discrimination": f"Daya beda lemah (di bawah {DISCRIMINATION_WEAK:g}%)",
}
"""Indonesian label for each flag code of `ItemStats.flags`."""


def _check_finite(**values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One graded question in an attempt. `picked`: the choice ids, or normalised response
    strings, the learner gave (empty when unanswered)."""

    points: float
    max_points: float
    picked: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_finite(points=self.points, max_points=self.max_points)


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """A graded attempt. `items`: question id -> result. `total` is the raw sum of item points
    (the discrimination index uses `total - item points` as the score on the rest of the test)."""

    attempt_id: int
    user_id: int
    total: float
    max_total: float
    items: Mapping[int, ItemResult]

    def __post_init__(self) -> None:
        _check_finite(total=self.total, max_total=self.max_total)


@dataclass(frozen=True, slots=True)
class ChoiceFrequency:
    """How many attempts gave this response; `percent` of the item's attempts."""

    choice_id: str
    text: str
    count: int
    percent: float


@dataclass(frozen=True, slots=True)
class ItemStats:
    """Statistics for one question, in %.

    facility_index: mean of points / max points × 100.
    sd: sample standard deviation (n - 1) of points / max points × 100; None when n < 2.
    discrimination_index: Pearson correlation × 100 of the item points with the rest-of-test
        score (total - item points); None when n < 2 or either side has zero variance.
    discriminative_efficiency: the item/rest covariance as a share (× 100) of the largest
        covariance those same scores could reach (both lists sorted and paired), Moodle's
        definition; None when that maximum is 0.
    choice_frequencies: the catalogue's choices in catalogue order (zero counts included), then
        up to `OTHER_RESPONSES_LIMIT` other responses, most frequent first.
    no_response: attempts with nothing picked.
    flags: codes from `FLAG_LABELS`.
    """

    question_id: int
    attempts: int
    facility_index: float
    sd: float | None
    discrimination_index: float | None
    discriminative_efficiency: float | None
    choice_frequencies: list[ChoiceFrequency]
    no_response: int
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TestStats:
    """Whole-test statistics on attempt percentages (total / max_total × 100).

    sd: sample standard deviation (n - 1), None when n < 2. mean/median/minimum/maximum are None
    when n == 0. internal_consistency: Cronbach's alpha × 100 (Moodle's "coefficient of internal
    consistency"; equals KR-20 for right/wrong items). error_ratio = 100 × sqrt(1 - alpha) and
    standard_error = error_ratio × sd / 100, as Moodle reports them. bands: `score_bands` with
    width 10.
    """

    __test__ = False  # not a pytest test class despite the name

    n: int
    mean: float | None
    median: float | None
    sd: float | None
    minimum: float | None
    maximum: float | None
    internal_consistency: float | None
    error_ratio: float | None
    standard_error: float | None
    bands: list[tuple[int, int, int]]


@dataclass(frozen=True, slots=True)
class PrePostRow:
    """One learner present on both tests. `normalised_gain` is None when pre >= 100."""

    user_id: int
    pre: float
    post: float
    gain: float
    normalised_gain: float | None


@dataclass(frozen=True, slots=True)
class PrePostSummary:
    """Pre-test/post-test comparison on matched learners (those with both scores).

    normalised_gain: the mean of each learner's (post - pre) / (100 - pre) over learners with
        pre < 100 (the "average normalised gain").
    class_normalised_gain: Hake's (1998) original <g> on class means,
        (mean post - mean pre) / (100 - mean pre); None when mean pre >= 100.
    The two usually agree closely; they differ when gains depend strongly on the pre score.
    """

    matched: int
    pre_only: int
    post_only: int
    mean_pre: float | None
    mean_post: float | None
    mean_gain: float | None
    normalised_gain: float | None
    class_normalised_gain: float | None
    improved: int
    same: int
    worse: int
    rows: list[PrePostRow]


# --- helpers ----------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def _sum_of_squares(values: Sequence[float]) -> float:
    """Sum of squared deviations from the mean; exactly 0 for constant data."""
    if len(values) < 2 or min(values) == max(values):
        return 0.0
    mean = math.fsum(values) / len(values)
    return math.fsum((v - mean) ** 2 for v in values)


def _co_sum(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Sum of products of deviations from the means."""
    mx = math.fsum(xs) / len(xs)
    my = math.fsum(ys) / len(ys)
    return math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _sample_sd(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    return math.sqrt(_sum_of_squares(values) / (len(values) - 1))


def _scored_items(attempt: AttemptResult) -> Iterable[tuple[int, ItemResult]]:
    return ((qid, item) for qid, item in attempt.items.items() if item.max_points > 0)


def _tidy(value: float) -> float:
    """Round away float noise (0.3 - 0.1 != 0.2) so that equal scores have exactly 0 variance and
    a facility of exactly 90 % or a correlation of exactly 0 does not trip a flag."""
    return round(value, 9)


def _percent(attempt: AttemptResult) -> float:
    return attempt.total / attempt.max_total * 100


# --- items ------------------------------------------------------------------------------------


def first_attempts(attempts: Iterable[AttemptResult]) -> list[AttemptResult]:
    """Each user's first attempt (lowest `attempt_id`), in the order they were given."""
    given = list(attempts)
    first: dict[int, AttemptResult] = {}
    for a in given:
        if a.user_id not in first or a.attempt_id < first[a.user_id].attempt_id:
            first[a.user_id] = a
    return [a for a in given if first[a.user_id] is a]


def _flags(facility: float, discrimination: float | None) -> tuple[str, ...]:
    flags: list[str] = []
    if facility > FACILITY_TOO_EASY:
        flags.append("too_easy")
    if facility < FACILITY_TOO_HARD:
        flags.append("too_hard")
    if discrimination is not None:
        if discrimination < 0:
            flags.append("negative_discrimination")
        elif discrimination < DISCRIMINATION_WEAK:
            flags.append("weak_discrimination")
    return tuple(flags)


def _frequencies(
    picks: Sequence[tuple[str, ...]], catalogue: Sequence[tuple[str, str]]
) -> list[ChoiceFrequency]:
    n = len(picks)
    counts: Counter[str] = Counter()
    for picked in picks:
        counts.update(set(picked))  # a response counts once per attempt
    rows: list[ChoiceFrequency] = []
    known: set[str] = set()
    for choice_id, text in catalogue:
        if choice_id in known:
            continue
        known.add(choice_id)
        rows.append(
            ChoiceFrequency(choice_id, text, counts[choice_id], counts[choice_id] / n * 100)
        )
    others = sorted(
        ((r, c) for r, c in counts.items() if r not in known), key=lambda rc: (-rc[1], rc[0])
    )
    rows.extend(ChoiceFrequency(r, r, c, c / n * 100) for r, c in others[:OTHER_RESPONSES_LIMIT])
    return rows


def _item_stats(
    question_id: int,
    rows: Sequence[tuple[AttemptResult, ItemResult]],
    catalogue: Sequence[tuple[str, str]],
) -> ItemStats:
    n = len(rows)
    fractions = [item.points / item.max_points for _, item in rows]
    marks = [_tidy(item.points) for _, item in rows]
    rest = [_tidy(attempt.total - item.points) for attempt, item in rows]
    facility = _tidy(math.fsum(fractions) * 100 / n)
    sd = _sample_sd(fractions)

    discrimination: float | None = None
    efficiency: float | None = None
    ss_marks, ss_rest = _sum_of_squares(marks), _sum_of_squares(rest)
    if n >= 2 and ss_marks > 0 and ss_rest > 0:
        co = _co_sum(marks, rest)
        discrimination = _tidy(_clamp(co / math.sqrt(ss_marks * ss_rest) * 100, -100.0, 100.0))
        co_max = _co_sum(sorted(marks), sorted(rest))
        if co_max > 0:  # rearrangement inequality: co_max >= |co|
            efficiency = _clamp(co / co_max * 100, -100.0, 100.0)

    return ItemStats(
        question_id=question_id,
        attempts=n,
        facility_index=facility,
        sd=None if sd is None else sd * 100,
        discrimination_index=discrimination,
        discriminative_efficiency=efficiency,
        choice_frequencies=_frequencies([item.picked for _, item in rows], catalogue),
        no_response=sum(1 for _, item in rows if not item.picked),
        flags=_flags(facility, discrimination),
    )


def item_statistics(
    attempts: Iterable[AttemptResult],
    choices: Mapping[int, Sequence[tuple[str, str]]] | None = None,
) -> list[ItemStats]:
    """Per-question statistics, sorted by question id, each over the attempts containing it.

    `choices`: question id -> [(choice_id, text)] to label and order the response frequencies;
    responses not in it (or questions without an entry) are listed as their own rows.
    Pass `first_attempts(...)` to analyse first attempts only, as Moodle does by default.
    """
    by_question: dict[int, list[tuple[AttemptResult, ItemResult]]] = {}
    for attempt in attempts:
        for qid, item in _scored_items(attempt):
            by_question.setdefault(qid, []).append((attempt, item))
    catalogue = choices or {}
    return [
        _item_stats(qid, by_question[qid], catalogue.get(qid, ())) for qid in sorted(by_question)
    ]


# --- whole test -------------------------------------------------------------------------------


def score_bands(percentages: Iterable[float], width: int = 10) -> list[tuple[int, int, int]]:
    """Histogram of percentages as (lower, upper, count) bands covering 0..100.

    Bands are [lower, upper) except the last, which includes 100. Values outside 0..100 go to the
    first/last band; non-finite values are ignored. Values are rounded to 9 decimals first, so
    that 30.000000000000004 or 69.99999999999999 from float division land in the intended band.
    """
    if width <= 0:
        raise ValueError("width must be a positive integer")
    lowers = list(range(0, 100, width))
    counts = [0] * len(lowers)
    for p in percentages:
        if not math.isfinite(p):
            continue
        index = int(round(_clamp(p, 0.0, 100.0), 9) // width)
        counts[min(index, len(lowers) - 1)] += 1
    return [(low, min(low + width, 100), c) for low, c in zip(lowers, counts, strict=True)]


def _internal_consistency(attempts: Sequence[AttemptResult]) -> float | None:
    """Cronbach's alpha on item fractions, over the questions present in every attempt."""
    n = len(attempts)
    if n < 2:
        return None
    common = set.intersection(*(set(dict(_scored_items(a))) for a in attempts))
    k = len(common)
    if k < 2:
        return None
    columns = [
        [_tidy(a.items[qid].points / a.items[qid].max_points) for a in attempts]
        for qid in sorted(common)
    ]
    totals = [_tidy(math.fsum(row)) for row in zip(*columns, strict=True)]
    ss_total = _sum_of_squares(totals)
    if ss_total <= 0:
        return None
    ss_items = math.fsum(_sum_of_squares(column) for column in columns)
    return k / (k - 1) * (1 - ss_items / ss_total) * 100  # the n - 1 denominators cancel


def test_statistics(attempts: Iterable[AttemptResult]) -> TestStats:
    """Summary of attempt percentages and the coefficient of internal consistency.

    Attempts with max_total <= 0 cannot be scored and are skipped. Internal consistency uses the
    questions present in every attempt (needs at least 2 of them and 2 attempts). Pass
    `first_attempts(...)` to analyse first attempts only.
    """
    scored = [a for a in attempts if a.max_total > 0]
    percents = [_percent(a) for a in scored]
    sd = _sample_sd(percents)
    alpha = _internal_consistency(scored)
    error_ratio = None if alpha is None else 100 * math.sqrt(max(0.0, 1 - alpha / 100))
    standard_error = None if error_ratio is None or sd is None else error_ratio * sd / 100
    return TestStats(
        n=len(percents),
        mean=_mean(percents),
        median=statistics.median(percents) if percents else None,
        sd=sd,
        minimum=min(percents, default=None),
        maximum=max(percents, default=None),
        internal_consistency=alpha,
        error_ratio=error_ratio,
        standard_error=standard_error,
        bands=score_bands(percents),
    )


test_statistics.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


# --- pre-test / post-test ---------------------------------------------------------------------


def prepost_gain(pre: Mapping[int, float], post: Mapping[int, float]) -> PrePostSummary:
    """Compare per-learner percentages (user id -> %) on a pre-test and a post-test.

    Only learners with both scores are compared; `pre_only`/`post_only` count the rest. The gain
    is post - pre in percentage points; "same" means within `GAIN_TOLERANCE`. The normalised gain
    of a learner is (post - pre) / (100 - pre): the share of the possible improvement that was
    achieved (Hake 1998), undefined for pre >= 100 (no room to improve), so those learners are
    left out of its average. Rows are sorted by user id.
    """
    for user_id, value in (*pre.items(), *post.items()):
        _check_finite(**{f"percent of user {user_id}": value})
    matched = sorted(pre.keys() & post.keys())
    rows = [
        PrePostRow(
            user_id=uid,
            pre=pre[uid],
            post=post[uid],
            gain=post[uid] - pre[uid],
            normalised_gain=(post[uid] - pre[uid]) / (100 - pre[uid]) if pre[uid] < 100 else None,
        )
        for uid in matched
    ]
    mean_pre = _mean([r.pre for r in rows])
    mean_post = _mean([r.post for r in rows])
    class_gain = (
        (mean_post - mean_pre) / (100 - mean_pre)
        if mean_pre is not None and mean_post is not None and mean_pre < 100
        else None
    )
    return PrePostSummary(
        matched=len(rows),
        pre_only=len(pre.keys() - post.keys()),
        post_only=len(post.keys() - pre.keys()),
        mean_pre=mean_pre,
        mean_post=mean_post,
        mean_gain=_mean([r.gain for r in rows]),
        normalised_gain=_mean([r.normalised_gain for r in rows if r.normalised_gain is not None]),
        class_normalised_gain=class_gain,
        improved=sum(1 for r in rows if r.gain > GAIN_TOLERANCE),
        same=sum(1 for r in rows if abs(r.gain) <= GAIN_TOLERANCE),
        worse=sum(1 for r in rows if r.gain < -GAIN_TOLERANCE),
        rows=rows,
    )
