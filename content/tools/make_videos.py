"""Renders the demo courses' short videos (text slides, silent AAC track) with ffmpeg.

Run from the repository root:  python content/tools/make_videos.py
Needs: ffmpeg with libx264 and drawtext (Debian: apt-get install -y ffmpeg fonts-dejavu-core).
Output: 640x360, 15 fps, H.264 baseline + AAC mono, faststart, no metadata; ~40 s, well under
2 MB. The committed .mp4 files are the artifacts; this script is how to make them again.
Licence: Apache-2.0, like the rest of the project (text and slides written for it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

CONTENT = Path(__file__).resolve().parent.parent
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
WIDTH, HEIGHT, FPS = 640, 360, 15
BACKGROUND = "0x0b4a6f"
ACCENT = "0xffd166"


@dataclass(frozen=True)
class Slide:
    seconds: float
    title: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Video:
    path: Path
    footer: str
    slides: tuple[Slide, ...]


VIDEOS = (
    Video(
        CONTENT / "literasi-digital-asn/01-pengantar/02-video-empat-pilar.mp4",
        "Literasi Digital untuk ASN",
        (
            Slide(5, "Empat Pilar Literasi Digital", ("untuk Aparatur Sipil Negara",)),
            Slide(
                7,
                "1. Cakap Digital",
                (
                    "Menggunakan perangkat, aplikasi, dan",
                    "layanan digital dengan tepat untuk bekerja",
                    "dan melayani masyarakat.",
                ),
            ),
            Slide(
                7,
                "2. Etika Digital",
                (
                    "Santun, jujur, dan bertanggung jawab",
                    "di ruang digital. ASN menjaga netralitas",
                    "dan rahasia jabatan, juga di media sosial.",
                ),
            ),
            Slide(
                7,
                "3. Aman Digital",
                (
                    "Melindungi akun, perangkat, dan data",
                    "pribadi; waspada penipuan dan phishing.",
                ),
            ),
            Slide(
                7,
                "4. Budaya Digital",
                (
                    "Nilai Pancasila dan Bhinneka Tunggal Ika",
                    "dalam setiap interaksi digital.",
                ),
            ),
            Slide(
                6,
                "Sebelum membagikan",
                ("Berhenti. Periksa sumbernya.", "Baru bagikan bila benar dan bermanfaat."),
            ),
        ),
    ),
    Video(
        CONTENT / "keamanan-informasi-dasar/01-dasar/02-video-kata-sandi.mp4",
        "Keamanan Informasi Dasar",
        (
            Slide(5, "Kata Sandi Kuat", ("dan verifikasi dua langkah",)),
            Slide(
                7,
                "Panjang lebih penting",
                (
                    "Pakai frasa sandi minimal 12 karakter,",
                    "misalnya beberapa kata acak yang mudah",
                    "Anda ingat tetapi sulit ditebak orang lain.",
                ),
            ),
            Slide(
                7,
                "Satu akun, satu kata sandi",
                (
                    "Kata sandi yang sama di banyak layanan:",
                    "satu bocor, semuanya terbuka.",
                    "Gunakan pengelola kata sandi.",
                ),
            ),
            Slide(
                7,
                "Aktifkan verifikasi dua langkah",
                (
                    "Kode OTP atau aplikasi autentikator",
                    "menahan penyerang meski kata sandi bocor.",
                ),
            ),
            Slide(
                7,
                "Jangan pernah berbagi",
                (
                    "Kata sandi dan kode OTP bukan untuk",
                    "rekan, atasan, atau penelepon yang",
                    "mengaku petugas.",
                ),
            ),
            Slide(
                6,
                "Curiga akun bocor?",
                ("Ganti kata sandinya sekarang dan", "laporkan ke tim TI atau CSIRT instansi."),
            ),
        ),
    ),
)


def _drawtext(textfile: Path, *, font: Path, size: int, y: str, color: str, enable: str) -> str:
    return (
        f"drawtext=fontfile={font}:textfile={textfile}:expansion=none:fontsize={size}"
        f":fontcolor={color}:x=(w-text_w)/2:y={y}:enable='{enable}'"
    )


def render(video: Video, workdir: Path) -> None:
    filters: list[str] = []
    start = 0.0
    for index, slide in enumerate(video.slides):
        end = start + slide.seconds
        enable = f"between(t,{start},{end - 0.001})"
        title_file = workdir / f"{index}-title.txt"
        title_file.write_text(slide.title, encoding="utf-8")
        filters.append(
            _drawtext(
                title_file,
                font=FONT_BOLD,
                size=34 if index == 0 else 30,
                y="90" if slide.lines else "(h-text_h)/2",
                color=ACCENT if index else "white",
                enable=enable,
            )
        )
        for number, line in enumerate(slide.lines):
            line_file = workdir / f"{index}-{number}.txt"
            line_file.write_text(line, encoding="utf-8")
            filters.append(
                _drawtext(
                    line_file,
                    font=FONT,
                    size=22,
                    y=str(160 + 34 * number),
                    color="white",
                    enable=enable,
                )
            )
        start = end
    footer = workdir / "footer.txt"
    footer.write_text(f"{video.footer}  |  materi demo LMS Diklat ASN", encoding="utf-8")
    filters.append(
        _drawtext(footer, font=FONT, size=14, y="h-30", color="0xbcd4e6", enable="gte(t,0)")
    )
    total = start
    command = [
        "ffmpeg", "-y", "-hide_banner", "-loglevel", "error",
        "-f", "lavfi", "-i", f"color=c={BACKGROUND}:s={WIDTH}x{HEIGHT}:r={FPS}:d={total}",
        "-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono",
        "-vf", ",".join(filters),
        "-c:v", "libx264", "-profile:v", "baseline", "-level", "3.0", "-pix_fmt", "yuv420p",
        "-preset", "veryslow", "-tune", "stillimage", "-crf", "30", "-g", str(FPS * 10),
        "-threads", "1",
        "-c:a", "aac", "-b:a", "24k", "-ac", "1", "-ar", "22050",
        "-t", str(total), "-shortest",
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
        "-flags:a", "+bitexact",
        "-movflags", "+faststart",
        str(video.path),
    ]  # fmt: skip
    subprocess.run(command, check=True)  # noqa: S603 - fixed arguments, our own files


def main() -> int:
    if shutil.which("ffmpeg") is None:
        print("ffmpeg not found: apt-get install -y ffmpeg fonts-dejavu-core", file=sys.stderr)
        return 1
    for font in (FONT, FONT_BOLD):
        if not font.exists():
            print(f"{font} not found: apt-get install -y fonts-dejavu-core", file=sys.stderr)
            return 1
    for video in VIDEOS:
        with tempfile.TemporaryDirectory() as tmp:
            render(video, Path(tmp))
        print(f"{video.path.relative_to(CONTENT)}: {video.path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
