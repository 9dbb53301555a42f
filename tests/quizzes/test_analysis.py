"""Quiz statistics: hand-computed examples (facility, SD, discrimination index and efficiency,
Cronbach's alpha, pre/post gain), a cross-check of the discrimination index against
`statistics.correlation`, and properties (bounds, no NaN, frequencies add up, flags follow the
thresholds).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.quizzes import analysis
from app.quizzes.analysis import (
    DISCRIMINATION_WEAK,
    FACILITY_TOO_EASY,
    FACILITY_TOO_HARD,
    FLAG_LABELS,
    OTHER_RESPONSES_LIMIT,
    AttemptResult,
    ChoiceFrequency,
    ItemResult,
    ItemStats,
    PrePostRow,
    first_attempts,
    item_statistics,
    prepost_gain,
    score_bands,
)

summarise = analysis.test_statistics  # not imported by name: pytest would collect test_*


def attempt(
    attempt_id: int,
    user_id: int,
    points: Mapping[int, float],
    max_points: float = 1.0,
    picked: Mapping[int, tuple[str, ...]] | None = None,
) -> AttemptResult:
    """An attempt whose questions are each worth `max_points`; total = sum of points."""
    items = {
        qid: ItemResult(p, max_points, (picked or {}).get(qid, ("x",))) for qid, p in points.items()
    }
    return AttemptResult(
        attempt_id, user_id, math.fsum(points.values()), max_points * len(points), items
    )


def by_question(stats: Sequence[ItemStats]) -> dict[int, ItemStats]:
    return {s.question_id: s for s in stats}


def no_nan(value: object) -> bool:
    if isinstance(value, float):
        return not math.isnan(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return all(no_nan(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, list | tuple):
        return all(no_nan(v) for v in value)
    return True


# Five learners, three 1-point questions (rows: q1, q2, q3; totals 2, 2, 1, 3, 0).
SMALL = [
    attempt(1, 1, {1: 1, 2: 1, 3: 0}),
    attempt(2, 2, {1: 1, 2: 0, 3: 1}),
    attempt(3, 3, {1: 0, 2: 1, 3: 0}),
    attempt(4, 4, {1: 1, 2: 1, 3: 1}),
    attempt(5, 5, {1: 0, 2: 0, 3: 0}),
]


# --- items: hand-computed -----------------------------------------------------------------------


def test_item_statistics_by_hand() -> None:
    stats = by_question(item_statistics(SMALL))
    assert sorted(stats) == [1, 2, 3]
    q1, q3 = stats[1], stats[3]
    # q1: x = 1 1 0 1 0 (mean .6), rest = 1 1 1 2 0 (mean 1): Sxy = 1, Sxx = 1.2, Syy = 2.
    assert q1.attempts == 5
    assert q1.facility_index == pytest.approx(60.0)
    assert q1.sd == pytest.approx(math.sqrt(1.2 / 4) * 100)
    assert q1.discrimination_index == pytest.approx(100 / math.sqrt(2.4))  # 64.55
    # sorted pairs (0,0) (0,1) (1,1) (1,1) (1,2) reach the same covariance: efficiency 100 %.
    assert q1.discriminative_efficiency == pytest.approx(100.0)
    assert q1.flags == ()
    # q3: x = 0 1 0 1 0 (mean .4), rest = 2 1 1 2 0 (mean 1.2): Sxy = .6, Sxx = 1.2, Syy = 2.8;
    # sorted: x 0 0 0 1 1 against rest 0 1 1 2 2 gives Sxy max = 1.6.
    assert q3.facility_index == pytest.approx(40.0)
    assert q3.discrimination_index == pytest.approx(100 * 0.6 / math.sqrt(1.2 * 2.8))  # 32.73
    assert q3.discriminative_efficiency == pytest.approx(37.5)
    assert q3.flags == ()


def test_discrimination_matches_statistics_correlation() -> None:
    attempts = [
        attempt(1, 1, {1: 2.0, 2: 1.5, 3: 0.0, 4: 3.0}, max_points=3),
        attempt(2, 2, {1: 0.5, 2: 3.0, 3: 1.0, 4: 2.0}, max_points=3),
        attempt(3, 3, {1: 3.0, 2: 2.5, 3: 3.0, 4: 1.0}, max_points=3),
        attempt(4, 4, {1: 1.0, 2: 0.0, 3: 0.5, 4: 0.0}, max_points=3),
        attempt(5, 5, {1: 2.5, 2: 2.0, 3: 2.0, 4: 3.0}, max_points=3),
        attempt(6, 6, {1: 0.0, 2: 1.0, 3: 3.0, 4: 1.5}, max_points=3),
    ]
    for s in item_statistics(attempts):
        marks = [a.items[s.question_id].points for a in attempts]
        rest = [a.total - a.items[s.question_id].points for a in attempts]
        assert s.discrimination_index == pytest.approx(100 * statistics.correlation(marks, rest))
        assert s.facility_index == pytest.approx(statistics.mean(marks) / 3 * 100)
        assert s.sd == pytest.approx(statistics.stdev(marks) / 3 * 100)


def test_perfectly_discriminating_items() -> None:
    """The strong half gets everything right, the weak half nothing: every item correlates
    perfectly with the rest of the test."""
    attempts = [
        attempt(u, u, dict.fromkeys(range(1, 6), 1.0 if u <= 3 else 0.0)) for u in range(1, 7)
    ]
    for s in item_statistics(attempts):
        assert s.discrimination_index == pytest.approx(100.0)
        assert s.discriminative_efficiency == pytest.approx(100.0)
        assert s.facility_index == pytest.approx(50.0)
        assert s.flags == ()


def test_reversed_item_is_flagged_negative() -> None:
    """Question 9 is answered right only by the learners who fail everything else."""
    attempts = [
        attempt(
            u, u, {**dict.fromkeys(range(1, 5), 1.0 if u <= 3 else 0.0), 9: 0.0 if u <= 3 else 1.0}
        )
        for u in range(1, 7)
    ]
    reversed_item = by_question(item_statistics(attempts))[9]
    assert reversed_item.discrimination_index == pytest.approx(-100.0)
    assert reversed_item.discriminative_efficiency == pytest.approx(-100.0)
    assert reversed_item.flags == ("negative_discrimination",)
    assert FLAG_LABELS["negative_discrimination"].startswith("Daya beda negatif")


def test_weak_discrimination() -> None:
    # x = 1 0 1 0 1 0, rest = 3 3 2 2 1 0: Sxy = .5, Sxx = 1.5, Syy = 41/6  ->  r ≈ 0.156.
    rests = [3.0, 3.0, 2.0, 2.0, 1.0, 0.0]
    attempts = [
        AttemptResult(
            u,
            u,
            (u % 2) + rests[u - 1],
            4.0,
            {1: ItemResult(float(u % 2), 1.0), 2: ItemResult(rests[u - 1], 3.0)},
        )
        for u in range(1, 7)
    ]
    item = by_question(item_statistics(attempts))[1]
    assert item.discrimination_index == pytest.approx(100 * 0.5 / math.sqrt(1.5 * 41 / 6))
    assert item.flags == ("weak_discrimination",)


def test_too_easy_and_too_hard() -> None:
    attempts = [attempt(u, u, {1: 1.0, 2: 0.0, 3: float(u % 2)}) for u in range(1, 5)]
    stats = by_question(item_statistics(attempts))
    assert stats[1].facility_index == 100.0
    assert stats[1].discrimination_index is None  # no variance: undefined, not flagged
    assert stats[1].flags == ("too_easy",)
    assert stats[2].facility_index == 0.0
    assert stats[2].flags == ("too_hard",)
    assert set(FLAG_LABELS) == {
        "too_easy",
        "too_hard",
        "negative_discrimination",
        "weak_discrimination",
    }


def test_single_attempt_and_empty_input() -> None:
    assert item_statistics([]) == []
    (only,) = item_statistics([attempt(1, 1, {7: 0.5})])
    assert (only.attempts, only.facility_index, only.sd) == (1, 50.0, None)
    assert only.discrimination_index is None
    assert only.discriminative_efficiency is None


def test_zero_point_questions_are_left_out() -> None:
    a = AttemptResult(1, 1, 1.0, 1.0, {1: ItemResult(1.0, 1.0), 2: ItemResult(0.0, 0.0)})
    assert [s.question_id for s in item_statistics([a])] == [1]


def test_items_missing_from_some_attempts() -> None:
    attempts = [*SMALL, attempt(6, 6, {1: 1.0})]
    stats = by_question(item_statistics(attempts))
    assert stats[1].attempts == 6
    assert stats[2].attempts == stats[3].attempts == 5


def test_non_finite_scores_are_rejected() -> None:
    with pytest.raises(ValueError, match="points"):
        ItemResult(math.nan, 1.0)
    with pytest.raises(ValueError, match="total"):
        AttemptResult(1, 1, math.inf, 1.0, {})


# --- response frequencies -----------------------------------------------------------------------


def test_choice_frequencies_follow_the_catalogue() -> None:
    picks = [("b",), ("b",), ("a",), (), ("b", "b"), ("z",)]
    attempts = [
        attempt(i, i, {1: 1.0 if p == ("b",) else 0.0}, picked={1: p}) for i, p in enumerate(picks)
    ]
    catalogue = {1: [("a", "Jakarta"), ("b", "Nusantara"), ("c", "Bandung")]}
    (item,) = item_statistics(attempts, catalogue)
    assert [
        (f.choice_id, f.text, f.count, round(f.percent, 2)) for f in item.choice_frequencies
    ] == [
        ("a", "Jakarta", 1, 16.67),
        ("b", "Nusantara", 3, 50.0),  # ("b", "b") counts once
        ("c", "Bandung", 0, 0.0),
        ("z", "z", 1, 16.67),  # not in the catalogue: its own row
    ]
    assert item.choice_frequencies[2] == ChoiceFrequency("c", "Bandung", 0, 0.0)
    assert item.no_response == 1


def test_multiple_response_counts_each_choice_once_per_attempt() -> None:
    picks = [("a", "c"), ("a",), ("a", "b", "c")]
    attempts = [attempt(i, i, {1: 1.0}, picked={1: p}) for i, p in enumerate(picks)]
    (item,) = item_statistics(attempts, {1: [("a", "A"), ("b", "B"), ("c", "C")]})
    assert [(f.choice_id, f.count, round(f.percent, 2)) for f in item.choice_frequencies] == [
        ("a", 3, 100.0),
        ("b", 1, 33.33),
        ("c", 2, 66.67),
    ]


def test_other_responses_top_ten() -> None:
    """Short answers: no catalogue, the most frequent responses first (ties alphabetically)."""
    answers = ["bkn"] * 4 + ["lan"] * 3 + [f"jawaban {i:02}" for i in range(12)]
    attempts = [attempt(i, i, {5: 0.0}, picked={5: (a,)}) for i, a in enumerate(answers)]
    (item,) = item_statistics(attempts)
    rows = item.choice_frequencies
    assert len(rows) == OTHER_RESPONSES_LIMIT
    assert [(r.choice_id, r.text, r.count) for r in rows[:3]] == [
        ("bkn", "bkn", 4),
        ("lan", "lan", 3),
        ("jawaban 00", "jawaban 00", 1),
    ]
    assert rows[-1].choice_id == "jawaban 07"


# --- first attempts -----------------------------------------------------------------------------


def test_first_attempts_keeps_lowest_attempt_id_per_user() -> None:
    a5, a3, a4, a9 = (
        attempt(5, 1, {1: 1.0}),
        attempt(3, 1, {1: 0.0}),
        attempt(4, 2, {1: 1.0}),
        attempt(9, 2, {1: 0.0}),
    )
    assert first_attempts([a5, a3, a4, a9]) == [a3, a4]
    assert first_attempts(iter([a9])) == [a9]
    assert first_attempts([]) == []


# --- whole test ---------------------------------------------------------------------------------


def test_test_statistics_by_hand() -> None:
    stats = summarise(SMALL)
    # Totals 2 2 1 3 0 out of 3.
    assert stats.n == 5
    assert stats.mean == pytest.approx(160 / 3)
    assert stats.median == pytest.approx(200 / 3)
    assert stats.sd == pytest.approx(math.sqrt(1.3) / 3 * 100)
    assert (stats.minimum, stats.maximum) == (0.0, 100.0)
    # Item variances .3 each, total variance 1.3: alpha = 3/2 × (1 - .9/1.3) = 6/13.
    assert stats.internal_consistency == pytest.approx(600 / 13)
    assert stats.error_ratio == pytest.approx(100 * math.sqrt(7 / 13))
    assert stats.standard_error == pytest.approx(math.sqrt(7 / 13) * math.sqrt(1.3) / 3 * 100)
    assert [(low, c) for low, _, c in stats.bands if c] == [(0, 1), (30, 1), (60, 2), (90, 1)]


def test_alpha_matches_kr20_for_right_wrong_items() -> None:
    attempts = [
        attempt(1, 1, {1: 1, 2: 1, 3: 1, 4: 0}),
        attempt(2, 2, {1: 1, 2: 1, 3: 0, 4: 0}),
        attempt(3, 3, {1: 1, 2: 0, 3: 0, 4: 0}),
        attempt(4, 4, {1: 1, 2: 1, 3: 1, 4: 1}),
        attempt(5, 5, {1: 0, 2: 0, 3: 0, 4: 0}),
        attempt(6, 6, {1: 1, 2: 1, 3: 0, 4: 1}),
    ]
    n, k = len(attempts), 4
    p = [sum(a.items[q].points for a in attempts) / n for q in range(1, 5)]
    # KR-20 with population variances (the n vs n - 1 choice cancels out).
    total_var = statistics.pvariance([a.total for a in attempts])
    kr20 = k / (k - 1) * (1 - sum(pi * (1 - pi) for pi in p) / total_var)
    assert summarise(attempts).internal_consistency == pytest.approx(100 * kr20)


def test_test_statistics_undefined_cases() -> None:
    empty = summarise([])
    assert (empty.n, empty.mean, empty.median, empty.sd) == (0, None, None, None)
    assert (empty.minimum, empty.maximum, empty.internal_consistency) == (None, None, None)
    assert (empty.error_ratio, empty.standard_error) == (None, None)
    assert sum(c for _, _, c in empty.bands) == 0

    one = summarise([attempt(1, 1, {1: 1.0, 2: 0.0})])
    assert (one.n, one.mean, one.sd, one.internal_consistency) == (1, 50.0, None, None)

    same = summarise([attempt(u, u, {1: 1.0, 2: 0.0}) for u in range(3)])
    assert (same.sd, same.internal_consistency) == (0.0, None)  # no variance in totals

    one_item = summarise([attempt(u, u, {1: float(u % 2)}) for u in range(4)])
    assert one_item.internal_consistency is None  # alpha needs at least two items

    unscorable = summarise([AttemptResult(1, 1, 0.0, 0.0, {})])
    assert unscorable.n == 0


def test_score_bands() -> None:
    bands = score_bands([0, 9.99, 10, 55, 100, 100, 30.000000000000004, 69.99999999999999])
    assert len(bands) == 10
    assert bands[0] == (0, 10, 2)
    assert bands[1] == (10, 20, 1)
    assert bands[3] == (30, 40, 1)
    assert bands[5] == (50, 60, 1)
    assert bands[7] == (70, 80, 1)  # float noise below 70 is rounded away
    assert bands[-1] == (90, 100, 2)  # the last band includes 100
    assert score_bands([-5, 130, math.nan], width=30) == [
        (0, 30, 1),
        (30, 60, 0),
        (60, 90, 0),
        (90, 100, 1),
    ]
    assert score_bands([], width=50) == [(0, 50, 0), (50, 100, 0)]
    with pytest.raises(ValueError):
        score_bands([50], width=0)


# --- pre-test / post-test -----------------------------------------------------------------------


def test_prepost_gain_by_hand() -> None:
    pre = {4: 50.0, 1: 40.0, 2: 80.0, 3: 100.0, 5: 60.0}
    post = {1: 70.0, 2: 80.0, 3: 90.0, 4: 40.0, 6: 90.0}
    summary = prepost_gain(pre, post)
    assert (summary.matched, summary.pre_only, summary.post_only) == (4, 1, 1)
    assert summary.mean_pre == pytest.approx(67.5)
    assert summary.mean_post == pytest.approx(70.0)
    assert summary.mean_gain == pytest.approx(2.5)
    # Per learner: 30/60 = .5, 0/20 = 0, (pre 100: undefined), -10/50 = -.2  ->  mean .1.
    assert summary.normalised_gain == pytest.approx(0.1)
    assert summary.class_normalised_gain == pytest.approx(2.5 / 32.5)
    assert (summary.improved, summary.same, summary.worse) == (1, 1, 2)
    assert summary.rows == [
        PrePostRow(1, 40.0, 70.0, 30.0, 0.5),
        PrePostRow(2, 80.0, 80.0, 0.0, 0.0),
        PrePostRow(3, 100.0, 90.0, -10.0, None),
        PrePostRow(4, 50.0, 40.0, -10.0, -0.2),
    ]


def test_prepost_gain_undefined_cases() -> None:
    empty = prepost_gain({}, {})
    assert (empty.matched, empty.mean_pre, empty.mean_gain, empty.normalised_gain) == (
        0,
        None,
        None,
        None,
    )
    assert (empty.class_normalised_gain, empty.rows) == (None, [])

    unmatched = prepost_gain({1: 50.0}, {2: 60.0})
    assert (unmatched.matched, unmatched.pre_only, unmatched.post_only) == (0, 1, 1)

    perfect = prepost_gain({1: 100.0, 2: 100.0}, {1: 100.0, 2: 100.0})
    assert (perfect.normalised_gain, perfect.class_normalised_gain, perfect.same) == (None, None, 2)

    with pytest.raises(ValueError):
        prepost_gain({1: math.nan}, {1: 50.0})


def test_prepost_same_within_float_noise() -> None:
    summary = prepost_gain({1: 2 / 3 * 100}, {1: 200 / 3})
    assert (summary.improved, summary.same, summary.worse) == (0, 1, 0)


# --- properties ---------------------------------------------------------------------------------

CHOICES = ("a", "b", "c", "d")


@st.composite
def single_choice_attempts(draw: st.DrawFn) -> tuple[list[AttemptResult], dict[int, str]]:
    """Learners answering single-choice questions (one pick each); the key earns full marks,
    some distractors earn partial credit."""
    questions = draw(st.integers(1, 5))
    keys = {q: draw(st.sampled_from(CHOICES)) for q in range(1, questions + 1)}
    credit = {q: draw(st.sampled_from([0.0, 0.0, 0.5])) for q in keys}
    worth = {q: draw(st.sampled_from([1.0, 2.0, 2.5])) for q in keys}
    attempts = []
    for u in range(draw(st.integers(0, 12))):
        items = {}
        for q, key in keys.items():
            pick = draw(st.sampled_from(CHOICES))
            points = worth[q] * (1.0 if pick == key else credit[q])
            items[q] = ItemResult(points, worth[q], (pick,))
        total = math.fsum(i.points for i in items.values())
        attempts.append(AttemptResult(u, u, total, math.fsum(worth.values()), items))
    return attempts, keys


@given(single_choice_attempts())
def test_item_statistics_properties(case: tuple[list[AttemptResult], dict[int, str]]) -> None:
    attempts, keys = case
    catalogue = {q: [(c, c.upper()) for c in CHOICES] for q in keys}
    stats = item_statistics(attempts, catalogue)
    assert no_nan(stats)
    assert len(stats) == (len(keys) if attempts else 0)
    for s in stats:
        assert s.attempts == len(attempts)
        assert 0.0 <= s.facility_index <= 100.0
        assert s.sd is None or 0.0 <= s.sd <= 100.0
        for index in (s.discrimination_index, s.discriminative_efficiency):
            assert index is None or -100.0 <= index <= 100.0
        assert sum(f.count for f in s.choice_frequencies) == s.attempts
        assert math.fsum(f.percent for f in s.choice_frequencies) == pytest.approx(100.0)
        expected = []
        if s.facility_index > FACILITY_TOO_EASY:
            expected.append("too_easy")
        if s.facility_index < FACILITY_TOO_HARD:
            expected.append("too_hard")
        if s.discrimination_index is not None and s.discrimination_index < 0:
            expected.append("negative_discrimination")
        elif s.discrimination_index is not None and s.discrimination_index < DISCRIMINATION_WEAK:
            expected.append("weak_discrimination")
        assert s.flags == tuple(expected)
        assert all(f in FLAG_LABELS for f in s.flags)


@given(single_choice_attempts())
def test_discrimination_agrees_with_reference(
    case: tuple[list[AttemptResult], dict[int, str]],
) -> None:
    attempts, _ = case
    for s in item_statistics(attempts):
        marks = [a.items[s.question_id].points for a in attempts]
        rest = [round(a.total - a.items[s.question_id].points, 9) for a in attempts]
        if len(set(marks)) < 2 or len(set(rest)) < 2:
            assert s.discrimination_index is None
        else:
            reference = 100 * statistics.correlation(marks, rest)
            assert s.discrimination_index == pytest.approx(reference, abs=1e-6)


@given(single_choice_attempts())
def test_test_statistics_properties(case: tuple[list[AttemptResult], dict[int, str]]) -> None:
    attempts, _ = case
    stats = summarise(attempts)
    assert no_nan(stats)
    assert stats.n == len(attempts)
    assert sum(c for _, _, c in stats.bands) == stats.n
    if stats.n:
        assert stats.minimum is not None and stats.maximum is not None
        assert 0.0 <= stats.minimum <= (stats.median or 0.0) <= stats.maximum <= 100.0
    assert stats.internal_consistency is None or stats.internal_consistency <= 100.0 + 1e-9


@given(
    st.dictionaries(st.integers(0, 30), st.floats(0, 100), max_size=15),
    st.dictionaries(st.integers(0, 30), st.floats(0, 100), max_size=15),
)
def test_prepost_properties(pre: dict[int, float], post: dict[int, float]) -> None:
    summary = prepost_gain(pre, post)
    assert no_nan(summary)
    assert summary.matched == len(pre.keys() & post.keys()) == len(summary.rows)
    assert summary.improved + summary.same + summary.worse == summary.matched
    assert [r.user_id for r in summary.rows] == sorted(pre.keys() & post.keys())
    for r in summary.rows:
        assert r.normalised_gain is None or r.normalised_gain <= 1.0


def test_thresholds_are_not_tripped_by_float_noise() -> None:
    """Exactly 90 % facility is not "too easy"; an exactly uncorrelated item is not negative."""
    easy = [attempt(u, u, {1: 0.1 if u < 18 else 0.0}, max_points=0.1) for u in range(20)]
    assert by_question(item_statistics(easy))[1].facility_index == 90.0
    assert "too_easy" not in by_question(item_statistics(easy))[1].flags
    # x = 1 0 1 0, rest = 1 1 0 0: covariance 0.
    rows = [(1.0, 1.0), (0.0, 1.0), (1.0, 0.0), (0.0, 0.0)]
    flat = [
        AttemptResult(u, u, x + r, 2.0, {1: ItemResult(x, 1.0), 2: ItemResult(r, 1.0)})
        for u, (x, r) in enumerate(rows)
    ]
    item = by_question(item_statistics(flat))[1]
    assert item.discrimination_index == 0.0
    assert item.flags == ("weak_discrimination",)
