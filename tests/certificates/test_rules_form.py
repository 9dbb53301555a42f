"""The certification-rules studio form: every rule editable with CSRF, blank fields follow the
institution, bad input comes back next to its field in Indonesian and nothing is saved."""

from __future__ import annotations

import httpx

from app.certificates import service
from app.core.db import session_scope
from tests.factories import browser_login, make_course, make_opd, make_user


def _course() -> int:
    make_opd()
    return make_course(code="RULES-01", title="Pelatihan Aturan")["course"]


def _form(token: str, **changes: str) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "pass_score": "",
        "score_formula": "",
        "weight_posttest": "",
        "weight_activities": "",
        "require_posttest": "",
        "require_survey": "",
        "require_rtl": "",
        "require_profile": "",
        "auto_issue": "",
        "curriculum_page": "",
        "min_learning_minutes": "",
        "validity_years": "",
        "template_id": "",
    }
    data.update(changes)
    return data


async def test_content_admin_sets_every_rule_in_the_form(
    client: httpx.AsyncClient, settings
) -> None:  # type: ignore[no-untyped-def]
    course_id = _course()
    admin = make_user(roles=("content_admin",), name="Admin Konten")
    token = await browser_login(client, admin.email or "")
    page = await client.get(f"/studio/courses/{course_id}/certification-rules")
    assert page.status_code == 200
    assert "Aturan sertifikat" in page.text
    assert 'name="csrf_token"' in page.text
    studio = await client.get(f"/studio/courses/{course_id}")
    assert f"/studio/courses/{course_id}/certification-rules" in studio.text

    answer = await client.post(
        f"/studio/courses/{course_id}/certification-rules",
        data=_form(
            token,
            pass_score="75,5",
            score_formula="weighted",
            weight_posttest="70",
            weight_activities="30",
            require_survey="1",
            require_posttest="0",
            auto_issue="0",
            min_learning_minutes="90",
            validity_years="3",
            band_above_0="85",
            band_label_0="Sangat Baik",
            band_above_1="70",
            band_label_1="Baik",
        ),
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].endswith("certification-rules?notice=saved")
    with session_scope() as db:
        rules = service.rules_for(db, course_id, settings)
    assert rules.pass_score == 75.5
    assert rules.score_formula == "weighted"
    assert rules.weights == {"posttest": 70.0, "activities": 30.0}
    assert rules.require_survey is True and rules.require_posttest is False
    assert rules.auto_issue is False
    assert rules.min_learning_minutes == 90 and rules.validity_years == 3
    assert rules.predikat_bands == [(85.0, "Sangat Baik"), (70.0, "Baik")]
    assert rules.require_rtl == settings.cert_require_rtl  # blank: the institution's
    assert "require_rtl" not in rules.overridden

    shown = await client.get(answer.headers["location"])
    assert "Aturan sertifikat disimpan" in shown.text
    assert 'value="75.5"' in shown.text and 'value="Sangat Baik"' in shown.text

    # Everything blank again: the course follows the institution.
    back = await client.post(f"/studio/courses/{course_id}/certification-rules", data=_form(token))
    assert back.status_code == 303
    with session_scope() as db:
        assert service.rules_for(db, course_id, settings).overridden == ()


async def test_bad_values_come_back_with_indonesian_messages_and_nothing_is_saved(
    client: httpx.AsyncClient, settings
) -> None:  # type: ignore[no-untyped-def]
    course_id = _course()
    officer = make_user(roles=("training_officer",))
    token = await browser_login(client, officer.email or "")
    answer = await client.post(
        f"/studio/courses/{course_id}/certification-rules",
        data=_form(
            token,
            pass_score="150",
            validity_years="1,5",
            min_learning_minutes="abc",
            band_above_0="80",
            score_formula="weighted",
            weight_posttest="0",
            weight_activities="0",
        ),
    )
    assert answer.status_code == 422
    text = answer.text
    assert "Aturan belum disimpan" in text
    assert "Isi angka dari 0 sampai 100." in text
    assert "Isi dengan bilangan bulat, tanpa koma." in text
    assert "harus berupa angka" in text
    assert "Isi batas nilai dan nama predikat" in text
    assert "Paling sedikit satu bobot harus lebih dari 0." in text
    assert 'aria-invalid="true"' in text
    assert 'value="150"' in text  # what was typed stays in the form
    with session_scope() as db:
        assert service.own_rules(db, course_id) is None


async def test_form_needs_csrf_and_an_editor(client: httpx.AsyncClient) -> None:
    course_id = _course()
    learner = make_user()
    token = await browser_login(client, learner.email or "")
    assert (await client.get(f"/studio/courses/{course_id}/certification-rules")).status_code == 403
    refused = await client.post(
        f"/studio/courses/{course_id}/certification-rules", data=_form(token, pass_score="60")
    )
    assert refused.status_code == 403

    client.cookies.clear()
    admin = make_user(roles=("content_admin",))
    await browser_login(client, admin.email or "")
    no_token = await client.post(
        f"/studio/courses/{course_id}/certification-rules", data=_form("", pass_score="60")
    )
    assert no_token.status_code == 403
    with session_scope() as db:
        assert service.own_rules(db, course_id) is None
    missing = await client.get("/studio/courses/999999/certification-rules")
    assert missing.status_code == 404
