"""Renders the demo courses' PDF handouts with fpdf2 (core Helvetica font: nothing embedded).

Run from the repository root:  python content/tools/make_pdfs.py
Needs: fpdf2, for authoring only (not an app dependency):  .venv/bin/pip install fpdf2
Output is byte-for-byte reproducible (fixed creation date). The committed .pdf files are the
artifacts; this script is how to make them again.
Licence: Apache-2.0, like the rest of the project (text written for it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

CONTENT = Path(__file__).resolve().parent.parent
CREATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NAVY = (11, 74, 111)
GREY = (74, 90, 106)


@dataclass(frozen=True)
class Block:
    heading: str
    paragraph: str = ""
    bullets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Handout:
    path: Path
    title: str
    subtitle: str
    blocks: tuple[Block, ...]


HANDOUTS = (
    Handout(
        CONTENT / "literasi-digital-asn/02-empat-pilar/05-lembar-ringkas-empat-pilar.pdf",
        "Lembar Ringkas: Empat Pilar Literasi Digital",
        "Pegangan singkat untuk ASN - Literasi Digital untuk ASN",
        (
            Block(
                "Cakap Digital (digital skills)",
                "Mampu memakai perangkat keras, perangkat lunak, dan layanan digital untuk "
                "bekerja dan melayani masyarakat.",
                (
                    "Kelola berkas dengan nama yang jelas, mis. 2026-03-14_Notula_Rapat-SPBE_v2.pdf.",
                    "Simpan dokumen dinas di penyimpanan resmi instansi, bukan di akun pribadi.",
                    "Cari informasi dengan cermat: tanda kutip untuk frasa, site:go.id untuk situs pemerintah.",
                    "Pakai surel dinas untuk urusan dinas; cantumkan perihal yang jelas.",
                ),
            ),
            Block(
                "Etika Digital (digital ethics)",
                "Menyadari, menimbang, dan bertanggung jawab atas apa yang dibuat, dibagikan, dan "
                "dikomentari di ruang digital.",
                (
                    "Santun di grup kerja: ringkas, pada jam yang wajar, tanpa huruf kapital semua.",
                    "Jaga netralitas ASN di media sosial, termasuk saat menyukai dan membagikan.",
                    "Hargai karya orang lain: sebutkan sumber, jangan pakai gambar tanpa izin.",
                    "Jaga rahasia jabatan; jangan unggah dokumen internal atau data warga.",
                ),
            ),
            Block(
                "Aman Digital (digital safety)",
                "Melindungi identitas, data pribadi, akun, dan perangkat dari penyalahgunaan.",
                (
                    "Kata sandi panjang dan berbeda untuk setiap akun; aktifkan verifikasi dua langkah.",
                    "Jangan pernah memberikan kode OTP kepada siapa pun.",
                    "Perbarui sistem operasi dan aplikasi; kunci layar saat meninggalkan meja.",
                    "Curiga pada tautan dan lampiran tak terduga, terutama berkas .apk.",
                ),
            ),
            Block(
                "Budaya Digital (digital culture)",
                "Membawa nilai Pancasila dan Bhinneka Tunggal Ika ke dalam kehidupan digital.",
                (
                    "Hormati perbedaan suku, agama, dan pandangan; tolak ujaran kebencian.",
                    "Gunakan bahasa Indonesia yang baik dalam layanan dan informasi publik.",
                    "Bantu rekan dan warga yang belum terbiasa dengan layanan digital.",
                    "Dukung produk dan layanan digital dalam negeri bila setara mutunya.",
                ),
            ),
            Block(
                "Sebelum membagikan sebuah pesan",
                "",
                (
                    "Berhenti sejenak: pesan yang memancing emosi patut dicurigai.",
                    "Periksa sumber: siapa pembuatnya? Situs pemerintah memakai domain go.id.",
                    "Cari sumber lain yang kredibel dan telusuri dokumen atau foto aslinya.",
                    "Bagikan hanya bila benar, bermanfaat, dan tidak merugikan orang lain.",
                ),
            ),
        ),
    ),
    Handout(
        CONTENT
        / "keamanan-informasi-dasar/03-data-dan-insiden/03-panduan-saku-keamanan-informasi.pdf",
        "Panduan Saku Keamanan Informasi untuk ASN",
        "Pegangan singkat - Keamanan Informasi Dasar",
        (
            Block(
                "Kata sandi dan akun",
                "",
                (
                    "Minimal 12 karakter; frasa sandi dari beberapa kata lebih mudah diingat.",
                    "Satu akun, satu kata sandi. Simpan di pengelola kata sandi.",
                    "Aktifkan verifikasi dua langkah pada surel dinas dan aplikasi penting.",
                    "Jangan berbagi akun atau kata sandi, juga kepada rekan dan atasan.",
                    "Ganti segera bila ada tanda bocor; ikuti kebijakan kata sandi instansi.",
                ),
            ),
            Block(
                "Kenali phishing",
                "",
                (
                    "Desakan waktu atau ancaman (akun dinonaktifkan, tunjangan ditunda).",
                    "Alamat pengirim atau domain tautan tidak cocok dengan instansi (go.id).",
                    "Meminta kata sandi, kode OTP, PIN, atau foto KTP.",
                    "Lampiran tak terduga: .apk, .exe, .zip, dokumen yang meminta makro.",
                    "Ragu? Hubungi pengirim lewat nomor atau alamat resmi yang Anda ketahui sendiri.",
                ),
            ),
            Block(
                "Perangkat dan jaringan",
                "",
                (
                    "Pasang pembaruan sistem operasi dan aplikasi secepatnya.",
                    "Kunci layar (Windows+L) setiap meninggalkan meja.",
                    "Jangan colokkan flashdisk temuan; pindai media dari luar sebelum dibuka.",
                    "Hindari Wi-Fi publik untuk aplikasi dinas; pakai jaringan kantor atau VPN resmi.",
                ),
            ),
            Block(
                "Klasifikasi data (ikuti nama dan tingkat yang ditetapkan instansi Anda)",
                "Contoh umum tingkat klasifikasi dan cara memperlakukannya:",
                (
                    "Publik: boleh diketahui umum (jadwal layanan, informasi berkala).",
                    "Terbatas/internal: hanya untuk pegawai yang perlu (draf kebijakan, notula internal).",
                    "Rahasia: akses sangat terbatas (data pribadi spesifik, dokumen pemeriksaan).",
                    "Data pribadi warga (NIK, alamat, data kesehatan) dilindungi UU PDP: kirim hanya "
                    "lewat kanal resmi dan hanya sebanyak yang diperlukan.",
                ),
            ),
            Block(
                "Jika terjadi insiden (akun dibobol, perangkat hilang, data bocor, malware)",
                "",
                (
                    "1. Amankan: putuskan perangkat dari jaringan bila terinfeksi; ganti kata sandi.",
                    "2. Catat: waktu, apa yang terlihat, tangkapan layar. Jangan hapus bukti.",
                    "3. Laporkan segera ke tim TI atau CSIRT instansi/pemerintah daerah Anda.",
                    "4. Ikuti arahan tim penanganan; jangan menyebarkan kabar di grup umum.",
                ),
            ),
        ),
    ),
)


class HandoutPDF(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4")
        self.footer_text = footer_text
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=16)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"{self.footer_text}   |   halaman {self.page_no()}", align="C")


def render(handout: Handout) -> None:
    pdf = HandoutPDF("Materi demo LMS Diklat ASN - Apache-2.0")
    pdf.set_title(handout.title)
    pdf.set_author("LMS Diklat ASN")
    pdf.set_subject(handout.subtitle)
    pdf.set_creator("content/tools/make_pdfs.py")
    pdf.set_creation_date(CREATED)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.set_text_color(*NAVY)
    pdf.multi_cell(0, 9, handout.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.set_text_color(*GREY)
    pdf.multi_cell(0, 6, handout.subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for block in handout.blocks:
        pdf.set_font("Helvetica", "B", 12.5)
        pdf.set_text_color(*NAVY)
        pdf.multi_cell(0, 7, block.heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(20, 30, 40)
        if block.paragraph:
            pdf.set_font("Helvetica", size=10.5)
            pdf.multi_cell(0, 5.4, block.paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10.5)
        for bullet in block.bullets:
            numbered = bullet[:2].rstrip(".").isdigit()
            pdf.set_x(pdf.l_margin + 3)
            pdf.multi_cell(
                0, 5.4, bullet if numbered else f"-  {bullet}", new_x="LMARGIN", new_y="NEXT"
            )
        pdf.ln(2.5)
    pdf.output(str(handout.path))


def main() -> int:
    for handout in HANDOUTS:
        handout.path.parent.mkdir(parents=True, exist_ok=True)
        render(handout)
        print(f"{handout.path.relative_to(CONTENT)}: {handout.path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
