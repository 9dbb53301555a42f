"""GIFT (Moodle's question text format): `parse_gift` reads a file into questions plus every
error with its line; `export_gift` writes questions back so that parsing the output returns them.

The rules follow Moodle's importer (question/format/gift/format.php, https://docs.moodle.org/en/GIFT_format):
questions are separated by blank lines, `//` starts a comment line, the type is read from the
answer block: empty = essay, `#...` = numeric, any `~` = choice, `=` with `->` = matching,
`T`/`TRUE`/`F`/`FALSE` = true/false, otherwise short answer; no block = description.
Where this module differs from Moodle it says so in a comment.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from app.core.errors import ValidationFailed
from app.core.i18n import gettext_ as _
from app.quizzes.questions import (
    BLANK,
    TEXT_FORMATS,
    Choice,
    MatchPair,
    NumericAnswer,
    ParseResult,
    Question,
    QuestionType,
    TextFormat,
)

# Escapable characters; `\n` is a newline. While parsing, an escaped character is replaced by a
# placeholder from Unicode's private use plane 15 so that it never acts as syntax (Moodle does the
# same with "&&058;"-style placeholders), and restored in the final texts.
_ESCAPED = "\\~=#{}:n"
_PLACEHOLDER = {c: chr(0xF0000 + i) for i, c in enumerate(_ESCAPED)}
_RESTORE = {ord(p): ("\n" if c == "n" else c) for c, p in _PLACEHOLDER.items()}
_ESCAPE_RE = re.compile(r"\\([\\~=#{}:n])")
_SPECIAL = {c: "\\" + c for c in "\\~=#{}:"} | {"\n": "\\n"}

_CATEGORY = "$CATEGORY:"
_FORMATS: dict[str, TextFormat] = {f: f for f in TEXT_FORMATS}
_FORMAT_PREFIX = re.compile(r"\[(moodle|html|markdown|plain)\]")
_WEIGHT = re.compile(r"\s*%([-+]?\d[\d.eE+-]*)%")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_TRUEFALSE = {"T": True, "TRUE": True, "F": False, "FALSE": False}
# 3 x 33.33333% is how GIFT writes thirds; Moodle accepts sums within 1e-7 of 100%, we are kinder.
_WEIGHT_SUM_SLACK = 0.01


def parse_gift(text: str) -> ParseResult:
    """Read a GIFT file: questions in file order, and every problem found with its line number."""
    result = ParseResult()
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    category = ""
    for item in _blocks(text, result):
        if isinstance(item, _Category):
            category = item.path
            continue
        question = _QuestionReader(item, result).read(category)
        if question is not None:
            result.questions.append(question)
    return result


def export_gift(questions: Iterable[Question]) -> str:
    """Write questions as GIFT, escaping `~ = # { } : \\` and newlines.

    GIFT has no syntax for points, for a description's general feedback, for per-answer text
    formats, or for `->` inside a short answer or a matching item's left side; the first three are
    left out, the last two raise `ValidationFailed`.
    """
    parts: list[str] = []
    category = ""
    for q in questions:
        if q.category != category:
            parts.append(f"{_CATEGORY} {_escape(q.category)}")
            category = q.category
        parts.append(_write_question(q))
    return "\n\n".join(parts) + "\n" if parts else ""


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Category:
    path: str


@dataclass(slots=True)
class _Block:
    """The lines of one question (comments dropped, escapes replaced) joined by newlines."""

    numbers: list[int] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    length: int = 0

    def add(self, number: int, line: str) -> None:
        if self.parts:
            self.length += 1  # the joining newline
        self.numbers.append(number)
        self.parts.append(line)
        self.starts.append(self.length)
        self.length += len(line)

    @property
    def text(self) -> str:
        return "\n".join(self.parts)

    def line_at(self, pos: int) -> int:
        return self.numbers[max(0, bisect_right(self.starts, pos) - 1)]


def _blocks(text: str, result: ParseResult) -> Iterator[_Block | _Category]:
    """Split the file on blank lines. A `$CATEGORY:` line always stands alone (Moodle would
    swallow the rest of its block into the category name)."""
    block: _Block | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        stripped = raw.strip()
        if not stripped:
            if block is not None:
                yield block
                block = None
            continue
        if stripped.startswith("//"):
            continue  # Moodle turns a comment line into a blank inside the question
        # Unlike Moodle, lines are not trimmed: Markdown's indented lists and hard line breaks
        # (two trailing spaces) survive; every text is still trimmed at its ends.
        if any(ord(c) in _RESTORE for c in raw):
            result.error(
                number, _("karakter Unicode dari area pribadi (U+F0000–U+F0007) tidak didukung.")
            )
            continue
        line = _ESCAPE_RE.sub(lambda m: _PLACEHOLDER[m[1]], raw)
        if block is None and stripped.startswith(_CATEGORY):
            yield _Category(_restore(line.strip()[len(_CATEGORY) :]).strip())
            continue
        if block is None:
            block = _Block()
        block.add(number, line)
    if block is not None:
        yield block


def _restore(text: str) -> str:
    return text.translate(_RESTORE)


def _finish(text: str, default: TextFormat) -> tuple[TextFormat, str]:
    """A text's `[format]` prefix (if any) and the text itself, escapes restored and trimmed."""
    text = text.strip()
    fmt = default
    if m := _FORMAT_PREFIX.match(text):
        fmt = _FORMATS[m[1]]
        text = text[m.end() :]
    return fmt, _restore(text).strip()


@dataclass(frozen=True, slots=True)
class _Item:
    marker: str
    body: str
    pos: int  # offset of the marker in the block text


class _QuestionReader:
    """Reads one block; every problem goes to `result`, and the question is dropped if any."""

    def __init__(self, block: _Block, result: ParseResult) -> None:
        self.block = block
        self.text = block.text
        self.result = result
        self.failed = False
        self.fmt: TextFormat = "moodle"
        self.open = 0

    def error(self, pos: int, message: str) -> None:
        self.failed = True
        self.result.error(self.block.line_at(pos), message)

    def read(self, category: str) -> Question | None:
        question = self._read(category)
        return None if self.failed else question

    def _read(self, category: str) -> Question | None:
        text = self.text
        pos = len(text) - len(text.lstrip())
        title = ""
        if text.startswith("::", pos):
            end = text.find("::", pos + 2)
            if end < 0:
                self.error(
                    pos, _("judul soal dibuka dengan '::' tetapi tidak ditutup dengan '::'.")
                )
                return None
            title = _restore(text[pos + 2 : end]).strip()
            pos = end + 2
        line = self.block.numbers[0]
        start, end = text.find("{", pos), text.find("}", pos)
        if start < 0 and end < 0:
            self.fmt, body = _finish(text[pos:], "moodle")
            if not body:
                self.error(pos, _("teks soal kosong."))
            return Question(
                QuestionType.DESCRIPTION, body, title, self.fmt, 0.0, category=category, line=line
            )
        if start < 0 or 0 <= end < start:
            self.error(end, _("'}' tanpa '{' pembuka; tulis \\} untuk kurung kurawal biasa."))
            return None
        if end < 0:
            self.error(
                start,
                _("'{' tidak ditutup dengan '}'. Blok jawaban tidak boleh berisi baris kosong."),
            )
            return None
        inner = text.find("{", start + 1, end)
        if inner >= 0:
            self.error(inner, _("'{' di dalam blok jawaban; tulis \\{ untuk kurung kurawal biasa."))
        extra = [i for i in (text.find("{", end + 1), text.find("}", end + 1)) if i >= 0]
        if extra:
            self.error(
                min(extra),
                _("lebih dari satu blok jawaban {…}; pisahkan soal dengan baris kosong."),
            )
        if self.failed:
            return None
        self.open = start
        after = text[end + 1 :]
        # An answer block in the middle of the text leaves a blank (missing-word format).
        source = text[pos:start] + (BLANK + after if after.strip() else "")
        self.fmt, body = _finish(source, "moodle")
        if not body:
            self.error(pos, _("teks soal kosong."))
        answer = text[start + 1 : end]
        general_feedback = ""
        if (cut := answer.rfind("####")) >= 0:
            general_feedback = _finish(answer[cut + 4 :], self.fmt)[1]
            answer = answer[:cut]
        common = Question(
            QuestionType.ESSAY,
            body,
            title,
            self.fmt,
            general_feedback=general_feedback,
            category=category,
            line=line,
        )
        return self._typed(common, answer, start + 1)

    def _typed(self, q: Question, answer: str, base: int) -> Question | None:
        core = answer.strip()
        base += len(answer) - len(answer.lstrip())
        if not core:
            return q
        if core.startswith("#"):
            return self._numeric(q, core[1:], base + 1)
        if "~" in core:
            return self._choices(q, core, base)
        if "=" in core and "->" in core:
            return self._matching(q, core, base)
        if core.split("#", 1)[0].strip() in _TRUEFALSE:
            return self._truefalse(q, core)
        return self._short(q, core, base)

    # Each reader below gets the answer block without its outer whitespace and `####` part.

    def _choices(self, q: Question, core: str, base: int) -> Question | None:
        items = self._items(core, base, "~=", "'=' atau '~'")
        choices: list[Choice] = []
        for item in items:
            weight, body = self._weight(item, -100.0, 100.0)
            if item.marker == "=":
                # Moodle reads "=%50%x" as a full-credit answer "%50%x"; say what was meant.
                if weight is not None and weight != 100:
                    self.error(
                        item.pos,
                        _(
                            "pada pilihan ganda bobot ditulis setelah '~' (mis. ~%%50%%); '=' berarti 100%%."
                        )
                        % {},
                    )
                weight = 100.0
            text, feedback = self._text_and_feedback(body)
            if not text:
                self.error(item.pos, _("pilihan jawaban kosong."))
            choices.append(Choice(text, weight or 0.0, feedback))
        if len(choices) < 2:
            self.error(self.open, _("pilihan ganda harus punya minimal 2 pilihan."))
        if any(item.marker == "=" for item in items):
            kind = QuestionType.SINGLE
        else:
            # Moodle: no '=' answer means multiple response, graded by the weights.
            kind = QuestionType.MULTIPLE
            positive = sum(c.weight for c in choices if c.weight > 0)
            if positive == 0:
                self.error(self.open, _("pilihan ganda tanpa jawaban benar (=)."))
            elif abs(positive - 100) > _WEIGHT_SUM_SLACK:
                self.error(
                    self.open,
                    _("pilihan jamak: jumlah bobot positif harus 100%% (sekarang %(positive)s%%).")
                    % {"positive": format(positive, "g")},
                )
        return replace(q, type=kind, choices=tuple(choices))

    def _matching(self, q: Question, core: str, base: int) -> Question | None:
        pairs: list[MatchPair] = []
        for item in self._items(core, base, "=", "'='"):
            left, arrow, right = item.body.partition("->")
            if not arrow:
                self.error(item.pos, _("pasangan menjodohkan ditulis '=kiri -> kanan'."))
                continue
            right_text = _restore(right).strip()
            if not right_text:
                self.error(item.pos, _("pasangan menjodohkan tanpa jawaban di kanan '->'."))
            pairs.append(MatchPair(_finish(left, self.fmt)[1], right_text))
        if len([p for p in pairs if p.left]) < 2:
            self.error(self.open, _("menjodohkan harus punya minimal 2 pasangan."))
        return replace(q, type=QuestionType.MATCHING, pairs=tuple(pairs))

    def _truefalse(self, q: Question, core: str) -> Question:
        key, *feedbacks = core.split("#", 2)
        wrong, right = (_finish(f, self.fmt)[1] for f in [*feedbacks, "", ""][:2])
        truth = _TRUEFALSE[key.strip()]
        return replace(
            q,
            type=QuestionType.TRUEFALSE,
            truefalse_key=truth,
            feedback_true=right if truth else wrong,
            feedback_false=wrong if truth else right,
        )

    def _short(self, q: Question, core: str, base: int) -> Question | None:
        answers: list[Choice] = []
        for item in self._items(core, base, "=", "'='", single_ok=True):
            weight, body = self._weight(item, 0.0, 100.0)
            text, feedback = self._text_and_feedback(body)
            if not text:
                self.error(item.pos, _("jawaban isian singkat kosong."))
            answers.append(Choice(text, 100.0 if weight is None else weight, feedback))
        if not any(a.weight >= 100 for a in answers):
            self.error(
                self.open, _("isian singkat harus punya minimal satu jawaban bernilai 100%%.") % {}
            )
        return replace(q, type=QuestionType.SHORT, answers=tuple(answers))

    def _numeric(self, q: Question, core: str, base: int) -> Question | None:
        incorrect = ""
        if (tilde := core.find("~")) >= 0:
            # Moodle's "~#feedback": what a learner sees for any other number.
            other = core[tilde + 1 :].strip()
            if other and not other.startswith("#"):
                self.error(
                    base + tilde,
                    _(
                        "pada soal numerik '~' hanya untuk umpan balik jawaban lain: tulis ~#umpan balik."
                    ),
                )
            incorrect = _finish(other[1:], self.fmt)[1]
            core = core[:tilde]
        answers: list[NumericAnswer] = []
        for item in self._items(core, base, "=", "'='", single_ok=True):
            weight, body = self._weight(item, 0.0, 100.0)
            spec, _sep, feedback = body.partition("#")
            answer = self._number_spec(
                _restore(spec).strip(),
                item.pos,
                100.0 if weight is None else weight,
                _finish(feedback, self.fmt)[1],
            )
            if answer is not None:
                answers.append(answer)
        if not answers and not self.failed:
            self.error(self.open, _("soal numerik tanpa jawaban."))
        elif answers and not any(a.weight >= 100 for a in answers):
            self.error(
                self.open, _("soal numerik harus punya minimal satu jawaban bernilai 100%%.") % {}
            )
        return replace(
            q, type=QuestionType.NUMERIC, numeric=tuple(answers), incorrect_feedback=incorrect
        )

    # --- pieces ----------------------------------------------------------------------------

    def _items(
        self, core: str, base: int, markers: str, expected: str, *, single_ok: bool = False
    ) -> list[_Item]:
        """Split an answer block at its markers; `single_ok` allows one unmarked answer ({One})."""
        cuts = [i for i, c in enumerate(core) if c in markers]
        head = core[: cuts[0]] if cuts else core
        items = [
            _Item(core[i], core[i + 1 : j], base + i)
            for i, j in zip(cuts, [*cuts[1:], len(core)], strict=False)
        ]
        if head.strip():
            if single_ok and not items:
                return [_Item("=", head, base)]
            shown = _restore(head.strip())
            self.error(
                base,
                _("'%(shown)s' tidak diawali %(expected)s; setiap jawaban diawali %(expected)s.")
                % {"shown": shown, "expected": expected},
            )
        return items

    def _weight(self, item: _Item, low: float, high: float) -> tuple[float | None, str]:
        """The `%n%` weight at the start of an answer, if any, and the rest of it."""
        m = _WEIGHT.match(item.body)
        if m is None:
            return None, item.body
        try:
            weight = float(m[1])
        except ValueError:
            weight = math.nan
        if not (math.isfinite(weight) and low <= weight <= high):
            self.error(
                item.pos,
                _(
                    "bobot '%%%(value)s%%' tidak valid; tulis persen antara %(low)s dan %(high)s, mis. %%50%%."
                )
                % {"value": m[1], "low": format(low, "g"), "high": format(high, "g")},
            )
            return None, item.body[m.end() :]
        return weight, item.body[m.end() :]

    def _text_and_feedback(self, body: str) -> tuple[str, str]:
        text, mark, feedback = body.partition("#")
        return _finish(text, self.fmt)[1], (_finish(feedback, self.fmt)[1] if mark else "")

    def _number_spec(
        self, spec: str, pos: int, weight: float, feedback: str
    ) -> NumericAnswer | None:
        """`value`, `value:tolerance` or `low..high`."""
        if (dots := spec.find("..", 1)) > 0:
            low, high = self._number(spec[:dots], pos), self._number(spec[dots + 2 :], pos)
            if low is None or high is None:
                return None
            if low > high:
                self.error(
                    pos,
                    _("rentang '%(spec)s': batas bawah lebih besar dari batas atas.")
                    % {"spec": spec},
                )
                return None
            return NumericAnswer.between(low, high, weight=weight, feedback=feedback)
        value_text, colon, tolerance_text = spec.partition(":")
        value = self._number(value_text, pos)
        tolerance = self._number(tolerance_text, pos) if colon else 0.0
        if value is None or tolerance is None:
            return None
        if tolerance < 0:
            self.error(
                pos,
                _("toleransi '%(value)s' tidak boleh negatif.") % {"value": tolerance_text.strip()},
            )
            return None
        return NumericAnswer(value, tolerance, None, weight, feedback)

    def _number(self, text: str, pos: int) -> float | None:
        text = text.strip()
        if _NUMBER.fullmatch(text):
            value = float(text)
            if math.isfinite(value):
                return value
        if _NUMBER.fullmatch(text.replace(",", ".")):
            self.error(
                pos,
                _("angka '%(text)s' tidak valid; pakai titik sebagai pemisah desimal.")
                % {"text": text},
            )
        else:
            self.error(pos, _("'%(text)s' bukan angka.") % {"text": text})
        return None


# --- writing -----------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return "".join(_SPECIAL.get(c, c) for c in text)


def _format_prefix(text: str, fmt: TextFormat, default: TextFormat) -> str:
    """`[format]` when it differs from `default`, or when the text itself starts like a prefix
    or a comment and must not be read as one."""
    return f"[{fmt}]" if fmt != default or text.startswith(("[", "//")) else ""


def _write_text(text: str, fmt: TextFormat, default: TextFormat) -> str:
    return _format_prefix(text, fmt, default) + _escape(text)


def _number_text(x: float) -> str:
    text = repr(float(x))
    return text.removesuffix(".0")


def _weight_text(weight: float, default: float, text: str) -> str:
    """`%n%` unless the weight is the default; always when the text itself starts with `%`."""
    if weight == default and not text.startswith("%"):
        return ""
    return f"%{_number_text(weight)}%"


def _write_question(q: Question) -> str:
    head = f"::{_escape(q.title)}::" if q.title else ""
    fmt = q.text_format
    if q.type is QuestionType.DESCRIPTION:
        return head + _write_text(q.text, fmt, "moodle")
    block = "{" + _write_answers(q) + "}"
    before, blank, after = q.text.partition(BLANK)
    if blank and after.strip():
        prefix = _format_prefix(q.text, fmt, "moodle")
        return head + prefix + _escape(before) + block + _escape(after)
    return head + _write_text(q.text, fmt, "moodle") + block


def _write_answers(q: Question) -> str:
    fmt = q.text_format
    lines: list[str] = []

    def text(t: str) -> str:
        return _write_text(t, fmt, fmt)

    def feedback(t: str) -> str:
        return "#" + text(t) if t else ""

    match q.type:
        case QuestionType.ESSAY:
            pass
        case QuestionType.SINGLE | QuestionType.MULTIPLE:
            lines = _write_choices(q, text, feedback)
        case QuestionType.TRUEFALSE:
            key = bool(q.truefalse_key)
            right, wrong = (
                (q.feedback_true, q.feedback_false) if key else (q.feedback_false, q.feedback_true)
            )
            out = "TRUE" if key else "FALSE"
            if wrong or right:
                out += "#" + (text(wrong) if wrong else "")
            if right:
                out += "#" + text(right)
            lines = [out]
        case QuestionType.SHORT:
            for a in q.answers:
                if "->" in a.text or "->" in a.feedback:
                    raise ValidationFailed(
                        _(
                            "Soal '%(value)s': '->' tidak dapat ditulis dalam jawaban isian singkat GIFT (akan terbaca sebagai menjodohkan)."
                        )
                        % {"value": q.title or q.text[:40]}
                    )
                lines.append(
                    "="
                    + _weight_text(a.weight, 100.0, a.text)
                    + text(a.text)
                    + feedback(a.feedback)
                )
        case QuestionType.NUMERIC:
            lines = ["#"]
            for n in q.numeric:
                if n.interval is not None:
                    spec = f"{_number_text(n.interval[0])}..{_number_text(n.interval[1])}"
                elif n.tolerance:
                    spec = f"{_number_text(n.value)}:{_number_text(n.tolerance)}"
                else:
                    spec = _number_text(n.value)
                lines.append("=" + _weight_text(n.weight, 100.0, "") + spec + feedback(n.feedback))
            if q.incorrect_feedback:
                lines.append("~" + feedback(q.incorrect_feedback))
        case QuestionType.MATCHING:
            for p in q.pairs:
                if "->" in p.left:
                    raise ValidationFailed(
                        _(
                            "Soal '%(value)s': '->' tidak dapat ditulis di sisi kiri pasangan menjodohkan GIFT."
                        )
                        % {"value": q.title or q.text[:40]}
                    )
                lines.append("=" + text(p.left) + " -> " + _escape(p.right))
        case _:  # pragma: no cover - DESCRIPTION is written without a block
            raise ValidationFailed(
                _("Jenis soal %(type)s tidak punya blok jawaban GIFT.") % {"type": q.type}
            )
    if q.general_feedback:
        lines.append("####" + text(q.general_feedback))
    if not lines:
        return ""
    if q.type is QuestionType.TRUEFALSE:
        return lines[0] + ("\n\t" + lines[1] + "\n" if len(lines) > 1 else "")
    if q.type is QuestionType.NUMERIC:
        return "#\n" + "".join(f"\t{line}\n" for line in lines[1:])
    return "\n" + "".join(f"\t{line}\n" for line in lines)


def _write_choices(
    q: Question,
    text: Callable[[str], str],
    feedback: Callable[[str], str],
) -> list[str]:
    single = q.type is QuestionType.SINGLE
    if single and not any(c.weight == 100 for c in q.choices):
        raise ValidationFailed(
            _("Soal '%(value)s': pilihan ganda tanpa jawaban bernilai 100%%.")
            % {"value": q.title or q.text[:40]}
        )
    lines: list[str] = []
    tilde_written = False
    for i, c in enumerate(q.choices):
        # '=' marks the right answer of a single choice; a block with no '~' would read as a
        # short answer, so the last full-credit choice falls back to '~%100%' when needed.
        needs_tilde = not tilde_written and all(d.weight == 100 for d in q.choices[i:])
        if single and c.weight == 100 and not (needs_tilde and i == len(q.choices) - 1):
            marker = "=" + ("%100%" if c.text.startswith("%") else "")
        else:
            marker = "~" + _weight_text(c.weight, 0.0, c.text)
            tilde_written = True
        lines.append(marker + text(c.text) + feedback(c.feedback))
    return lines
