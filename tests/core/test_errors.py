"""Domain errors carry an Indonesian msgid and read out in the language of whoever renders them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel, Field, ValidationError

from app.core import i18n
from app.core.errors import NotFound, ValidationFailed, pydantic_message


@pytest.fixture
def english() -> Iterator[None]:
    token = i18n.current_locale.set("en")
    try:
        yield
    finally:
        i18n.current_locale.reset(token)


def test_detail_is_translated_when_read_not_when_raised() -> None:
    error = NotFound("Kursus tidak ditemukan.", code="course_not_found")  # raised in Indonesian
    assert error.detail == "Kursus tidak ditemukan."
    token = i18n.current_locale.set("en")
    try:
        assert error.detail == "Course not found."  # rendered for an English request
    finally:
        i18n.current_locale.reset(token)
    assert error.msgid == "Kursus tidak ditemukan."


def test_unknown_or_composed_details_pass_through(english: None) -> None:
    assert NotFound("kursus/berkas.md: baris 3").detail == "kursus/berkas.md: baris 3"
    assert NotFound("").detail == ""  # never the catalog header


def test_validation_errors_list_is_translated(english: None) -> None:
    error = ValidationFailed("Judul bagian wajib diisi.", field="title")
    assert error.errors == [{"field": "title", "message": "The section title is required."}]
    listed = ValidationFailed(
        "Wajib diisi.", errors=[{"field": "a", "message": "Wajib diisi."}, {"field": "b"}]
    )
    assert listed.errors == [{"field": "a", "message": "Required."}, {"field": "b"}]


class _Form(BaseModel):
    year: int
    name: str = Field(min_length=3)
    score: float = Field(le=100)


def _errors(data: dict[str, object]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        _Form.model_validate(data)
    return {str(e["loc"][0]): pydantic_message(e) for e in caught.value.errors()}


def test_pydantic_messages_in_indonesian_by_default() -> None:
    assert _errors({"year": "x", "name": "ab", "score": 101}) == {
        "year": "Harus berupa bilangan bulat.",
        "name": "Paling sedikit 3 karakter.",
        "score": "Paling besar 100.",
    }
    assert _errors({"name": "abc", "score": 1}) == {"year": "Wajib diisi."}


def test_pydantic_messages_in_english(english: None) -> None:
    assert _errors({"year": "x", "name": "ab", "score": 101}) == {
        "year": "Must be a whole number.",
        "name": "At least 3 characters.",
        "score": "At most 100.",
    }


def test_unmapped_pydantic_type_falls_back_per_language() -> None:
    odd = {"type": "frozen_instance", "msg": "Instance is frozen", "ctx": {}}
    assert pydantic_message(odd) == "Nilai tidak valid."
    token = i18n.current_locale.set("en")
    try:
        assert pydantic_message(odd) == "Instance is frozen"
    finally:
        i18n.current_locale.reset(token)


def test_value_errors_of_our_validators_are_translated(english: None) -> None:
    err = {
        "type": "value_error",
        "msg": "Value error, x",
        "ctx": {"error": ValueError("Wajib diisi.")},
    }
    assert pydantic_message(err) == "Required."
