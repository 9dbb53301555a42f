"""NIP rules without a database: what a valid NIP encodes, and a specific reason for each bad one."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.accounts.constants import Employment
from app.accounts.nip import NIPError, NIPInfo, parse_nip
from app.core import clock

TODAY = dt.date(2026, 5, 15)


def parse(raw: str) -> NIPInfo:
    return parse_nip(raw, today=TODAY)


def reason(raw: str) -> str:
    with pytest.raises(NIPError) as exc:
        parse(raw)
    return str(exc.value)


def test_valid_pns_nip_encodes_birth_start_gender_and_pns() -> None:
    info = parse("198503152010012007")
    assert info == NIPInfo(
        nip="198503152010012007",
        birth_date=dt.date(1985, 3, 15),
        start_year=2010,
        start_month=1,
        gender="P",
        employment_hint=Employment.PNS,
    )


def test_pppk_nip_carries_21_where_the_month_stands() -> None:
    info = parse("199207142022211015")
    assert info.employment_hint is Employment.PPPK
    assert info.start_year == 2022
    assert info.start_month is None
    assert info.gender == "L"
    assert info.birth_date == dt.date(1992, 7, 14)


@pytest.mark.parametrize(
    "raw",
    [
        "19900101 201503 1 002",
        "19900101.201503.1.002",
        " 19900101-201503-1-002 ",
        "'199001012015031002",
    ],
)
def test_spaces_dots_dashes_and_apostrophe_are_normalised(raw: str) -> None:
    assert parse(raw).nip == "199001012015031002"


def test_float_text_from_excel_is_normalised() -> None:
    assert parse("199001012015031002.0").nip == "199001012015031002"


@pytest.mark.parametrize(
    ("raw", "got"),
    [("19900101201503100", 17), ("1990010120150310020", 19), ("1990", 4)],
)
def test_wrong_length_names_length_and_count(raw: str, got: int) -> None:
    message = reason(raw)
    assert "18 digit" in message
    assert f"diterima {got} digit" in message


def test_letters_are_named() -> None:
    message = reason("19900101201503100A")
    assert "hanya boleh berisi angka" in message
    assert "A" in message


def test_scientific_notation_from_excel_explains_lost_digits() -> None:
    message = reason("1.99001E+17")
    assert "angka ilmiah" in message
    assert "Teks" in message


def test_empty_nip_is_required() -> None:
    assert "wajib diisi" in reason("   ")


def test_impossible_birth_date() -> None:
    message = reason("199002312015031002")
    assert "Tanggal lahir" in message
    assert "31-02-1990" in message
    assert "bukan tanggal yang sah" in message


def test_birth_year_too_old() -> None:
    message = reason("193001012015031002")
    assert "Tahun lahir" in message and "1930" in message


def test_start_month_13_is_neither_pns_nor_pppk() -> None:
    message = reason("199001012015131002")
    assert "Bulan TMT" in message
    assert "(13)" in message
    assert "01-12" in message and "21" in message


def test_start_before_18th_birthday() -> None:
    message = reason("200506012022051002")  # born June 2005, TMT May 2022: 16 years old
    assert "sebelum usia 18 tahun" in message
    assert "01-06-2005" in message


def test_start_in_the_month_of_18th_birthday_is_allowed() -> None:
    assert parse("200506012023061002").start_month == 6


def test_start_year_zero_is_a_clear_error_not_a_crash() -> None:
    assert "sebelum usia 18 tahun" in reason("199001010000031002")


def test_start_in_the_future() -> None:
    message = reason("199001012028031002")
    assert "masa depan" in message
    assert "202803" in message


def test_pppk_start_in_the_future() -> None:
    assert "masa depan" in reason("199001012028211002")


def test_start_within_the_next_months_is_allowed_for_pns_and_pppk() -> None:
    """An appointment decree can set a TMT a few months ahead; PNS and PPPK get the same slack."""
    assert parse("199001012027011002").start_year == 2027
    assert parse("199001012027211002").start_year == 2027


def test_gender_digit_3() -> None:
    message = reason("199001012015033002")
    assert "jenis kelamin" in message
    assert "digit ke-15: 3" in message
    assert "1 (pria)" in message and "2 (wanita)" in message


def test_sequence_000_hints_at_excel_rounding() -> None:
    message = reason("199001012015031000")
    assert "Nomor urut" in message and "000" in message
    assert "Excel" in message


def test_default_today_is_the_real_date() -> None:
    next_year = clock.today().year + 2
    with pytest.raises(NIPError, match="masa depan"):
        parse_nip(f"19900101{next_year}031002")


# --- property: any NIP built from valid parts parses back to those parts --------------------

EARLIEST_BIRTH = dt.date(1940, 1, 1)
LATEST_BIRTH = dt.date(TODAY.year - 18, 1, 1)


def _months_after(day: dt.date) -> list[tuple[int, int]]:
    return [
        (y, m)
        for y in range(day.year, TODAY.year + 1)
        for m in range(1, 13)
        if (day.year, day.month) <= (y, m) <= (TODAY.year, TODAY.month)
    ]


@st.composite
def nip_parts(draw: st.DrawFn) -> tuple[dt.date, int, int | None, str, int]:
    birth = draw(st.dates(min_value=EARLIEST_BIRTH, max_value=LATEST_BIRTH))
    adult = dt.date(birth.year + 18, birth.month, 1)  # the rule works in whole months
    year, month = draw(st.sampled_from(_months_after(adult)))
    pppk = draw(st.booleans())
    gender = draw(st.sampled_from("12"))
    seq = draw(st.integers(min_value=1, max_value=999))
    return birth, year, None if pppk else month, gender, seq


@given(nip_parts())
def test_valid_parts_parse_back(parts: tuple[dt.date, int, int | None, str, int]) -> None:
    birth, year, month, gender, seq = parts
    marker = "21" if month is None else f"{month:02d}"
    nip = f"{birth:%Y%m%d}{year:04d}{marker}{gender}{seq:03d}"
    info = parse(nip)
    assert info.nip == nip
    assert info.birth_date == birth
    assert info.start_year == year
    assert info.start_month == month
    assert info.gender == ("L" if gender == "1" else "P")
    assert info.employment_hint is (Employment.PPPK if month is None else Employment.PNS)
    # The same NIP typed the way people write it on forms parses the same.
    spaced = f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}"
    assert parse(spaced) == info
