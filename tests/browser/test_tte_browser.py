"""Issue 17's BSrE acceptance in chromium: a training officer prepares a batch for a run; the
signing official enters a wrong passphrase, which stops the batch with BSrE's message and leaves
every certificate as it was; with the right one every PDF is replaced (new sha256), validates
with pyHanko and poppler's pdfsig, and the public upload check (/verify) says authentic.

The LMS runs as its own `lms serve` with LMS_BSRE_* pointing at the Esign Client Service fake
(tests/tte/fake.py, in this process on 127.0.0.1), its data from tests/tte/browser_seed.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, expect
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from app.certificates.signing import outside_event_loop
from tests.browser.conftest import _server_env, run_lms, serving
from tests.browser.helpers import login, save_screenshot
from tests.factories import PASSWORD
from tests.mailsink import MailSink
from tests.ports import free_port
from tests.tte.browser_seed import OFFICER_EMAIL, OFFICIAL_EMAIL
from tests.tte.fake import NIK_OK, PASSPHRASE_OK, USERNAME, EsignFake
from tests.tte.fake import PASSWORD as API_PASSWORD
from tests.wagateway import WhatsAppGateway

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def tte_server(tmp_path_factory: pytest.TempPathFactory, _mail_server: MailSink,
               _whatsapp_server: WhatsAppGateway) -> Iterator[dict[str, Any]]:  # fmt: skip
    fake = EsignFake().start()
    data_dir = tmp_path_factory.mktemp("tte-server")
    port = free_port()
    env = _server_env(data_dir, port, _mail_server, _whatsapp_server)
    env.update({
        "LMS_BSRE_URL": fake.url, "LMS_BSRE_USERNAME": USERNAME,
        "LMS_BSRE_PASSWORD": API_PASSWORD, "LMS_BSRE_API_VERSION": "1",
        "LMS_BSRE_TRUST_PEM": str(fake.write_trust(data_dir / "bsre-trust.pem")),
        "LMS_BSRE_CONCURRENCY": "2",
    })  # fmt: skip
    run_lms("db", "upgrade", env=env, cwd=data_dir)
    seeded = subprocess.run([sys.executable, "-m", "tests.tte.browser_seed"], cwd=data_dir,
                            env=env, capture_output=True, text=True, timeout=180, check=False)
    if seeded.returncode != 0:
        pytest.fail(f"seeding failed:\n{seeded.stdout}\n{seeded.stderr}")
    info = json.loads(seeded.stdout.strip().splitlines()[-1])
    assert info["issued"] == 3, info
    try:
        with serving(port, data_dir, env):
            yield {"base_url": f"http://127.0.0.1:{port}", "fake": fake, "run": info["run"],
                   "data_dir": data_dir}
    finally:
        fake.stop()


def _context(browser: Browser, base_url: str) -> BrowserContext:
    context = browser.new_context(base_url=base_url, locale="id-ID",
                                  viewport={"width": 360, "height": 740})  # fmt: skip
    context.set_default_timeout(15_000)
    return context


def _records(context: BrowserContext, batch_id: str) -> dict[int, dict[str, Any]]:
    batch = context.request.get(f"/api/v1/certificates/signing-batches/{batch_id}").json()
    return {it["certificate_id"]: context.request.get(
        f"/api/v1/certificates/{it['certificate_id']}").json() for it in batch["items"]}


def _pyhanko_ok(data: bytes, fake: EsignFake) -> None:
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization

    def der(cert: Any) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    context = ValidationContext(trust_roots=[der(fake.ca.root)],
                                other_certs=[der(fake.ca.intermediate)], allow_fetching=False)
    sigs = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
    assert len(sigs) == 2  # the institution's own, then the official's BSrE TTE
    status = outside_event_loop(  # Playwright's sync API keeps a loop running here
        lambda: validate_pdf_signature(sigs[-1], signer_validation_context=context))
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE


def test_official_batch_signs_a_run(browser: Browser, tte_server: dict[str, Any],
                                    tmp_path: Path) -> None:  # fmt: skip
    base, fake = tte_server["base_url"], tte_server["fake"]
    officer = _context(browser, base)
    official = _context(browser, base)
    public = _context(browser, base)
    page = officer.new_page()
    try:
        login(page, OFFICER_EMAIL, PASSWORD)
        page.goto("/studio/tte")
        page.get_by_label("Angkatan").select_option(str(tte_server["run"]))
        page.get_by_role("button", name="Siapkan batch penandatanganan").click()
        expect(page.locator("[data-batch-state]").first).to_have_attribute(
            "data-batch-state", "prepared")
        batch_id = page.url.rstrip("/").rsplit("/", 1)[1]
        before = _records(officer, batch_id)
        assert len(before) == 3

        sign_page = official.new_page()
        login(sign_page, OFFICIAL_EMAIL, PASSWORD)
        sign_page.goto(f"/studio/tte/batches/{batch_id}")
        sign_page.get_by_label("NIK (16 angka)").fill(NIK_OK)
        sign_page.get_by_label("Passphrase TTE").fill("Salah#Ketik123")
        sign_page.get_by_role("button", name="Tandatangani sekarang").click()
        expect(sign_page.locator("#sign-error")).to_contain_text("Passphrase salah")
        expect(sign_page.locator("#batch-error")).to_contain_text("Passphrase salah")
        save_screenshot(sign_page, "tte-wrong-passphrase")
        after_wrong = _records(officer, batch_id)
        assert {k: v["pdf_sha256"] for k, v in after_wrong.items()} == {
            k: v["pdf_sha256"] for k, v in before.items()}
        assert sign_page.get_by_label("Passphrase TTE").input_value() == ""

        sign_page.get_by_label("NIK (16 angka)").fill(NIK_OK)
        sign_page.get_by_label("Passphrase TTE").fill(PASSPHRASE_OK)
        sign_page.get_by_role("button", name="Tandatangani sekarang").click()
        expect(sign_page.locator("#tte-progress [data-batch-state]")).to_have_attribute(
            "data-batch-state", "done", timeout=60_000)
        expect(sign_page.locator('[data-item-state="signed"]')).to_have_count(3)
        save_screenshot(sign_page, "tte-batch-done")

        after = _records(officer, batch_id)
        pdfsig = shutil.which("pdfsig")
        assert pdfsig, "poppler-utils is installed by scripts/test.sh"
        verify = public.new_page()
        for cid, record in after.items():
            assert record["pdf_sha256"] != before[cid]["pdf_sha256"]
            data = officer.request.get(f"/api/v1/certificates/{cid}/pdf").body()
            assert hashlib.sha256(data).hexdigest() == record["pdf_sha256"]
            _pyhanko_ok(data, fake)
            path = tmp_path / f"sertifikat-{cid}.pdf"
            path.write_bytes(data)
            out = subprocess.run([pdfsig, str(path)], capture_output=True, text=True).stdout
            assert out.count("Signature is Valid.") == 2, out
            verify.goto("/verify")
            verify.locator("#verify-file").set_input_files(str(path))
            verify.get_by_role("button", name="Periksa berkas").click()
            expect(verify.locator("#pdf-verdict")).to_contain_text("Asli")
            expect(verify.locator(".cert-number")).to_have_text(record["number"])
    finally:
        for context in (officer, official, public):
            context.close()

