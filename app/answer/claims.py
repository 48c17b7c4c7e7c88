"""Cut an answer into claims and give each the citations written for it — wherever the model put them.

Real models place citation marks (``marks.py``) in several ways, and an answer keeps to one:

* **inline**, before the sentence's stop or at its end: ``Warfarin raises the INR [1].``;
* **after the stop**: ``Warfarin raises the INR. [1] Aspirin adds to the risk. [2]``;
* **before the sentence**: ``[1] Warfarin raises the INR. [2] Aspirin adds to the risk.``;
* **per clause**: ``Warfarin raises the INR [1], while aspirin inhibits platelets [2].`` — each clause its own claim;
* in lists, one item a line, with the mark before or after the item; on a line of its own after a paragraph.

Where a group of marks stands tells whom it belongs to: inside a sentence, that sentence (or clause); at the start
of a line before its text, or before words going on in lower case ("[1] shows that …"), the sentence that follows;
after the last sentence of a line or of the answer, the sentence before.  A group *between* two sentences of a line
is read by the answer's placement style, taken from its first group of marks (the first one tells how the model
writes them, and is known as soon as it streams): before the first sentence → it opens the sentence after; after a
stop → it closes the sentence before; inside a sentence → a group between sentences cannot be given to one claim,
and is **dropped, never moved** — as are marks in a reference list ("Sources: [1], [2]", or the lines after
"References:") or beside no claim.  A block header the model echoes ("Title | label (…) | section: …") is no claim.
``ParsedAnswer.dropped`` keeps each with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from app.answer.marks import MarkGroup, find_groups, without_marks
from app.text.language import is_han

Kind = Literal["inline", "leading", "trailing", "between", "own_line"]

_BULLET = re.compile(r"^\s*(?:[-*•·]|\(?\d{1,2}[.)、）]|（\d{1,2}）)\s*")
_WORD = re.compile(r"[A-Za-z0-9\u3400-\u9fff]")
_REPEATED_STOP = re.compile(r"([.!?。！？])[.!?。！？\s]*$")
_ENUMERATION = re.compile(r"^\s*(?:\d{1,2}|[A-Za-z])[.)、]?\s*$")  # "1." cut off a numbered list
# A sentence ends at . ! ? ; followed by space and no lower-case letter (not "e.g. aspirin"), or at the end of a
# piece of text (a mark or a line break follows), or at a Chinese stop.
_STOP = re.compile(r"[.!?;](?=\s+[^\sa-z]|\s*$)|[。！？；]")
# "Sources: [1], [2]" or "References:" and the lines after it: a reference list, which cites no claim.
_REFERENCE_LIST = re.compile(r"^\s*(?:[-*•#]+\s*)?\**(?:sources?|references?|citations?|来源|参考文献|参考资料|引用)"
                             r"\**\s*[:：]", re.IGNORECASE)
# Where a clause may end: a comma or semicolon, or a conjunction that opens the next clause.
_CONJUNCTIONS = r"(?:and|but|while|whereas|although|though|so)\b"
_CLAUSE_BREAK = re.compile(rf"^\s*(?:[,;，；]|(?={_CONJUNCTIONS})|(?=而|但|并且|同时))")
_LEADING_CONJUNCTION = re.compile(rf"^\s*(?:{_CONJUNCTIONS},?\s*|(?:而且|并且|但是|同时|而|但)，?)", re.IGNORECASE)
_LEAD_INS = r"(?:according to|as (?:stated|noted|shown|reported) in|based on|per|see|from|in|根据|据|见)"
_LEAD_IN = re.compile(rf"(?:(?<![A-Za-z]){_LEAD_INS})\s*$", re.IGNORECASE)
_LEAD_IN_ONLY = re.compile(rf"\s*{_LEAD_INS}\s*", re.IGNORECASE)
# Text going on in lower case after a group of marks: the group is a word of that sentence ("[1] shows that …",
# "[2] also reports …"), not the end of the one before.
_CONTINUES = re.compile(r"\s*[a-z]")
# A model that echoes an evidence block's header ("Title | label (regulatory drug label) | section: Warnings | …"):
# the header is the prompt's, not a claim.
_ECHOED_HEADER = re.compile(r"^.*?\|\s*section:[^|]*(?:\|\s*published:[^|]*)?(?:\||$)\s*")
_OPEN_MARK = re.compile(r"(?:[\[【［(（][^\]】］)）\n]{0,30}|\^[\s\[\d,]*)$")


@dataclass(frozen=True)
class RawClaim:
    text: str  # the claim without citation marks
    cited: tuple[int, ...]  # every number it cites, given or not
    sentence: int = 0  # the sentence of the answer it is (a sentence cited clause by clause gives several claims)


@dataclass(frozen=True)
class DroppedMarks:
    """A group of marks no claim could be given: the numbers it named and why."""

    numbers: tuple[int, ...]
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"numbers": list(self.numbers), "reason": self.reason}


@dataclass(frozen=True)
class ParsedAnswer:
    claims: list[RawClaim]
    dropped: list[DroppedMarks]


@dataclass
class _Sentence:
    pieces: list[str | MarkGroup] = field(default_factory=list)  # its text and inline marks, in order
    opening: list[MarkGroup] = field(default_factory=list)  # marks written before it
    named_by_mark: bool = False  # it opens with its marks as its subject: "[1] shows that …"
    closing: list[MarkGroup] = field(default_factory=list)  # marks written after it

    def has_text(self) -> bool:
        return any(isinstance(p, str) and _WORD.search(p) for p in self.pieces)


@dataclass
class _Placed:
    group: MarkGroup
    kind: Kind
    before: int | None  # the sentence before it (index), if any
    after: int  # the sentence after it: the one being written when it came
    subject: bool = False  # a word of the sentence after it ("[1] shows that …")


def parse_answer(answer: str) -> ParsedAnswer:
    """The claims of an answer with the citations written for each, and the marks that belong to none."""
    reader = _Reader(answer)
    dropped = reader.dropped
    sentences = reader.sentences
    style = reader.style()
    for p in reader.placed:
        target = _target(p, style, len(sentences))
        if target is None:
            reason = ("between two sentences of an answer that cites inside its sentences"
                      if p.kind == "between" else "beside no claim")
            dropped.append(DroppedMarks(p.group.numbers, reason))
        elif target == p.before:
            sentences[target].closing.append(p.group)
        else:
            sentences[target].opening.append(p.group)
            sentences[target].named_by_mark = sentences[target].named_by_mark or p.subject
    claims: list[RawClaim] = []
    for i, sentence in enumerate(sentences):
        claims.extend(_claims_of(sentence, i, dropped))
    return ParsedAnswer(claims, dropped)


def split_claims(answer: str) -> list[RawClaim]:
    """The claims of an answer with their citations (``parse_answer`` without the dropped marks)."""
    return parse_answer(answer).claims


def complete_claims(partial: str) -> list[RawClaim]:
    """The claims of a partial (still streaming) answer that are certainly complete: those of every sentence but
    the last (whose clauses may still change), after a citation mark still being written is set aside."""
    claims = split_claims(_OPEN_MARK.sub("", partial))
    return [c for c in claims if c.sentence < claims[-1].sentence] if claims else []


class _Reader:
    """Reads an answer line by line into sentences, each mark group either inside one or placed between two."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.sentences: list[_Sentence] = []
        self.placed: list[_Placed] = []
        self.dropped: list[DroppedMarks] = []
        self.first_kind: Kind | None = None  # where the answer's first group of marks stands
        groups = find_groups(answer)
        cursor = 0
        references = False
        for line in answer.split("\n"):
            start, end = cursor, cursor + len(line)
            cursor = end + 1
            in_line = [g for g in groups if start <= g.start < end]
            references = references or _REFERENCE_LIST.match(without_marks(line)) is not None
            if references:
                self.dropped.extend(DroppedMarks(g.numbers, "in a reference list") for g in in_line)
                continue
            self._read_line(start, end, in_line)

    def style(self) -> Literal["leading", "trailing", "inline"]:
        """The answer's placement style, from its first group of marks."""
        if self.first_kind == "inline" or self.first_kind is None:
            return "inline"
        return "leading" if self.first_kind == "leading" else "trailing"

    def _read_line(self, start: int, end: int, groups: list[MarkGroup]) -> None:
        answer, sentences = self.answer, self.sentences
        first = len(sentences)
        current = _Sentence()
        cursor = start
        bullet = _BULLET.match(answer, start, end)
        if bullet and (not groups or groups[0].start >= bullet.end()):
            cursor = bullet.end()
        for group in [*groups, None]:
            text = answer[cursor : end if group is None else group.start]
            piece_start = 0
            for stop in _STOP.finditer(text):
                current.pieces.append(text[piece_start : stop.end()])
                piece_start = stop.end()
                if current.has_text():
                    sentences.append(current)
                current = _Sentence()
            current.pieces.append(text[piece_start:])
            if group is None:
                break
            cursor = group.end
            if current.has_text():
                current.pieces.append(group)
                self.first_kind = self.first_kind or "inline"
                continue
            following = without_marks(answer[group.end : end])
            text_follows = _WORD.search(following) is not None
            before = len(sentences) - 1 if sentences else None
            kind: Kind
            if _CONTINUES.match(following):  # "[1] shows that …": the group is a word of the sentence after it
                self.placed.append(_Placed(group, "leading", before, len(sentences), subject=True))
                continue
            if len(sentences) == first:  # nothing written on this line yet
                kind = "leading" if text_follows or before is None else "own_line"
            else:
                kind = "between" if text_follows else "trailing"
            self.first_kind = self.first_kind or kind
            self.placed.append(_Placed(group, kind, before, len(sentences)))
        if current.has_text():
            sentences.append(current)


def _target(p: _Placed, style: str, count: int) -> int | None:
    """The sentence a placed group belongs to, or None when it belongs to none for certain."""
    after = p.after if p.after < count else None
    if p.kind == "leading":
        return after
    if p.kind == "trailing":
        return p.before
    if p.kind == "own_line":
        return after if style == "leading" else p.before
    return after if style == "leading" else p.before if style == "trailing" else None


def _claims_of(sentence: _Sentence, index: int, dropped: list[DroppedMarks]) -> list[RawClaim]:
    """One claim, or one per clause when the sentence cites clause by clause (every clause saying something of its
    own: "headache [1], nausea [2]" is one claim citing both)."""
    pieces = list(sentence.pieces)
    if len(pieces) >= 2 and isinstance(pieces[0], str) and isinstance(pieces[1], MarkGroup) and \
            _LEAD_IN_ONLY.fullmatch(pieces[0]):
        rest = pieces[2:]  # "According to [1], warfarin …": the mark cites the sentence, and the lead-in goes
        if rest and isinstance(rest[0], str):
            opening = re.sub(r"^\s*[,，:：]?\s*", "", rest[0])
            rest[0] = opening[:1].upper() + opening[1:]
        pieces = [pieces[1], *rest]
    clauses: list[tuple[str, list[MarkGroup]]] = [("", list(sentence.opening))]
    for i, piece in enumerate(pieces):
        text, marks = clauses[-1]
        if isinstance(piece, str):
            clauses[-1] = (text + piece, marks)
            continue
        marks.append(piece)
        later = any(isinstance(p, MarkGroup) for p in pieces[i + 1 :])
        after = "".join(p for p in pieces[i + 1 :] if isinstance(p, str))
        if later and _CLAUSE_BREAK.match(after):
            clauses.append(("", []))
    clauses[-1][1].extend(sentence.closing)
    if len(clauses) > 1 and not all(_is_clause(text) for text, _ in clauses):
        clauses = [("".join(text for text, _ in clauses), [g for _, marks in clauses for g in marks])]
    claims: list[RawClaim] = []
    for n, (text, marks) in enumerate(clauses):
        plain = _claim_text(text, continued=n > 0)
        if n == 0 and sentence.named_by_mark:
            plain = f"The evidence {plain}"  # "[1] shows that …" says "The evidence shows that … [1]."
        cited = tuple(dict.fromkeys(num for g in marks for num in g.numbers))
        if not _WORD.search(plain) or _ENUMERATION.match(plain):
            dropped.extend(DroppedMarks(g.numbers, "beside no claim") for g in marks)
            continue
        claims.append(RawClaim(plain, cited, index))
    return claims


def _is_clause(text: str) -> bool:
    """Whether the text before a mid-sentence mark says something of its own (not "According to [1], …")."""
    plain = without_marks(text)
    words = len(re.findall(r"[A-Za-z0-9]+", plain)) + len(re.findall(r"[\u3400-\u9fff]", plain)) // 2
    return words >= 3 and not _LEAD_IN.search(plain)


def _claim_text(text: str, continued: bool) -> str:
    plain = without_marks(_BULLET.sub("", text) if not continued else text)
    plain = _ECHOED_HEADER.sub("", plain)
    if continued:
        plain = _LEADING_CONJUNCTION.sub("", re.sub(r"^[\s,;，；]+", "", plain))
        if plain[:1].islower():
            plain = plain[0].upper() + plain[1:]
    plain = re.sub(r"[\s,;，；:：]+$", "", plain) if not _REPEATED_STOP.search(plain) else plain
    return _REPEATED_STOP.sub(r"\1", plain)


def render_claim(text: str, citations: list[int]) -> str:
    """A claim with its citation marks before its final stop: "Warfarin … risk [1][2]."."""
    marks = "".join(f"[{n}]" for n in citations)
    stop = ""
    body = text.rstrip()
    if body and body[-1] in ".!?。！？":
        stop, body = body[-1], body[:-1].rstrip()
    han = bool(body) and is_han(body[-1])
    if not marks:
        return f"{body}{stop}"
    return f"{body}{'' if han else ' '}{marks}{stop or ('。' if han else '.')}"
