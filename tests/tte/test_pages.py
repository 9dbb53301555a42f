"""The signing pages: the officer prepares a batch from the run picker, the signing official sees
the confirmation form, a wrong passphrase re-renders it (422) with BSrE's reason and no
passphrase in the page, the right one shows the finished progress; `lms tte check NIK`."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from app.cli import cli
from tests.certificates.pdfs import make_pdfs
from tests.factories import api_token, browser_login, make_completed_run, make_user
from tests.tte.fake import NIK_EXPIRED, NIK_OK, PASSPHRASE_OK, EsignFake


async def test_officer_prepares_and_official_signs(app, client, bsre: EsignFake) -> None:  # type: ignore[no-untyped-def]
    data = make_completed_run(2, auto_issue=False)
    officer_user = make_user(roles=("training_officer",))
    officer = await api_token(client, officer_user.email)
    await client.post(f"/api/v1/runs/{data['run']}/certificates", headers=officer)
    make_pdfs()

    csrf = await browser_login(client, officer_user.email)
    listing = await client.get("/studio/tte")
    assert listing.status_code == 200 and 'name="run_id"' in listing.text
    assert "/studio/tte" in listing.text  # in the menu
    made = await client.post("/studio/tte/batches", data={"csrf_token": csrf,
                                                          "run_id": str(data["run"])})
    assert made.status_code == 303
    batch_url = made.headers["location"]
    officer_view = await client.get(batch_url)
    assert officer_view.status_code == 200 and 'id="sign-form"' not in officer_view.text

    transport = httpx.ASGITransport(app=app, client=("203.0.113.11", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        official = make_user(roles=("signing_official",), name="Dr. Hendra Wijaya")
        csrf2 = await browser_login(other, official.email)
        page = await other.get(batch_url)
        assert 'id="sign-form"' in page.text and 'type="password"' in page.text
        wrong = await other.post(f"{batch_url}/sign", data={
            "csrf_token": csrf2, "nik": NIK_OK, "passphrase": "Keliru#Lagi55"})  # fmt: skip
        assert wrong.status_code == 422
        assert "Passphrase salah" in wrong.text and "Keliru#Lagi55" not in wrong.text
        assert 'id="sign-form"' in wrong.text  # enter again
        ok = await other.post(f"{batch_url}/sign", data={
            "csrf_token": csrf2, "nik": NIK_OK, "passphrase": PASSPHRASE_OK})  # fmt: skip
        assert ok.status_code == 303
        done = await other.get(batch_url)
        assert 'data-batch-state="done"' in done.text and done.text.count('data-item-state="signed"') == 2
        fragment = await other.get(f"{batch_url}/progress")
        assert fragment.status_code == 200 and 'id="tte-progress"' in fragment.text
        assert (await other.post("/studio/tte/batches", data={
            "csrf_token": csrf2, "run_id": str(data["run"])})).status_code == 403  # fmt: skip


def test_cli_tte_check(bsre: EsignFake) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["tte", "check", NIK_OK])
    assert ok.exit_code == 0 and ok.output.startswith("ISSUE"), ok.output
    expired = runner.invoke(cli, ["tte", "check", NIK_EXPIRED])
    assert expired.exit_code == 1 and "EXPIRED" in expired.output and "kedaluwarsa" in expired.output
    assert runner.invoke(cli, ["tte", "check", "12"]).exit_code == 2
