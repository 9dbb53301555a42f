"""Aiken (Moodle's one-right-answer text format): `parse_aiken` reads single-choice questions
with every error and its line; `export_aiken` writes single-choice questions back.

A question is a stem (one or more lines), options `A)` or `A.` in capital letters, and
`ANSWER: X`. Blank lines between questions are customary, not required (Moodle reads it the same
way). Aiken is plain text: imported questions get `text_format="plain"`, so markup such as
`<b>` or `&` is shown as typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from app.core.errors import ValidationFailed
from app.core.i18n import gettext_ as _
from app.quizzes.questions import Choice, ParseResult, Question, QuestionType

_OPTION = re.compile(r"([A-Z])\s*[.)]\s*(.*)")
_NUMBERED = re.compile(r"\d+\s*[.)]\s")
_ANSWER = re.compile(r"ANSWER\s*:\s*(.*)", re.IGNORECASE)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(slots=True)
class _Pending:
    """The question being read: its stem, options so far, and what was noticed on the way."""

    line: int
    stem: list[str]
    options: list[tuple[str, str]] = field(default_factory=list)
    numbered_lines: list[int] = field(default_factory=list)
    failed: bool = False


def parse_aiken(text: str) -> ParseResult:
    """Read an Aiken file (CRLF, a BOM and trailing spaces are fine)."""
    result = ParseResult()
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    pending: _Pending | None = None
    after_blank = False

    def unfinished(q: _Pending) -> None:
        """A question that ended without its ANSWER line."""
        if not q.options and q.numbered_lines:
            result.error(
                q.line,
                _("soal tidak punya pilihan jawaban (baris %(n)s diberi nomor; pilihan memakai "
                  "huruf: A), B), …).") % {"n": q.numbered_lines[0]},
            )  # fmt: skip
        elif not q.options:
            result.error(q.line, _("soal tidak punya pilihan jawaban."))
        else:
            result.error(q.line, _("soal tidak punya baris 'ANSWER: <huruf>'."))

    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            after_blank = True
            continue
        blank_before, after_blank = after_blank, False
        if m := _ANSWER.fullmatch(line):
            if pending is None:
                result.error(number, _("baris ANSWER tanpa soal sebelumnya."))
                continue
            _finish(pending, m[1].strip(), number, result)
            pending = None
        elif m := _OPTION.fullmatch(line):
            if pending is None:
                result.error(number, _("pilihan jawaban sebelum teks soal."))
                continue
            letter, option = m[1], m[2].strip()
            if any(letter == seen for seen, _ in pending.options):
                pending.failed = True
                result.error(
                    number, _("huruf pilihan '%(letter)s' dipakai dua kali.") % {"letter": letter}
                )
            elif not option:
                pending.failed = True
                result.error(number, _("pilihan %(letter)s kosong.") % {"letter": letter})
            pending.options.append((letter, option))
        elif pending is None:
            pending = _Pending(number, [line])
        elif not pending.options and not blank_before:
            # A stem may run over several lines until the first option.
            pending.stem.append(line)
            if _NUMBERED.match(line):
                pending.numbered_lines.append(number)
        elif blank_before:
            unfinished(pending)
            pending = _Pending(number, [line])
        else:
            pending.failed = True
            result.error(
                number,
                _(
                    "baris '%(value)s' tidak dikenal; diharapkan pilihan seperti 'A) …' atau 'ANSWER: X'."
                )
                % {"value": line[:40]},
            )
    if pending is not None:
        unfinished(pending)
    return result


def _finish(q: _Pending, answer: str, line: int, result: ParseResult) -> None:
    """Close a question at its ANSWER line."""
    letters = [letter for letter, _ in q.options]
    before = len(result.errors)
    if len(q.options) < 2:
        result.error(
            q.line, _("soal harus punya minimal 2 pilihan (ada %(n)s).") % {"n": len(q.options)}
        )
    if not answer:
        result.error(line, _("ANSWER kosong; tulis huruf pilihan yang benar, mis. 'ANSWER: B'."))
    elif answer.upper() not in letters:
        shown = ", ".join(letters) or "-"
        result.error(
            line,
            _("jawaban '%(answer)s' tidak ada di antara pilihan (%(shown)s).")
            % {"answer": answer, "shown": shown},
        )
    if q.failed or len(result.errors) > before:
        return
    key = answer.upper()
    result.questions.append(
        Question(
            QuestionType.SINGLE,
            "\n".join(q.stem),
            text_format="plain",
            choices=tuple(
                Choice(text, 100.0 if letter == key else 0.0) for letter, text in q.options
            ),
            line=q.line,
        )
    )


def export_aiken(questions: Iterable[Question]) -> str:
    """Write single-choice questions with exactly one right answer (weight 100, others 0).

    Aiken has no titles, feedback, points, categories or text formats; those are left out.
    Anything Aiken cannot say (another type, partial credit, a line an importer would misread)
    raises `ValidationFailed` naming the question.
    """
    blocks: list[str] = []
    for number, q in enumerate(questions, start=1):
        name = f"Soal {number} ({q.title or q.text[:40]})"
        if q.type is not QuestionType.SINGLE:
            raise ValidationFailed(
                _("%(name)s: Aiken hanya untuk pilihan ganda satu jawaban.") % {"name": name}
            )
        right = [c for c in q.choices if c.weight == 100]
        if len(right) != 1 or any(c.weight not in (0, 100) for c in q.choices):
            raise ValidationFailed(
                _("%(name)s: Aiken perlu tepat satu jawaban benar tanpa bobot parsial.")
                % {"name": name}
            )
        if not 2 <= len(q.choices) <= len(_LETTERS):
            raise ValidationFailed(_("%(name)s: Aiken perlu 2 sampai 26 pilihan.") % {"name": name})
        stem = q.text.strip().split("\n")
        for line in stem:
            if (
                not line.strip()
                or _OPTION.fullmatch(line.strip())
                or _ANSWER.fullmatch(line.strip())
            ):
                raise ValidationFailed(
                    _("%(name)s: baris soal '%(value)s' tidak dapat ditulis di Aiken.")
                    % {"name": name, "value": line[:40]}
                )
        lines = [line.strip() for line in stem]
        for letter, choice in zip(_LETTERS, q.choices, strict=False):
            if "\n" in choice.text.strip() or not choice.text.strip():
                raise ValidationFailed(
                    _("%(name)s: pilihan %(letter)s harus satu baris dan tidak kosong.")
                    % {"name": name, "letter": letter}
                )
            lines.append(f"{letter}) {choice.text.strip()}")
        lines.append(f"ANSWER: {_LETTERS[q.choices.index(right[0])]}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n" if blocks else ""
