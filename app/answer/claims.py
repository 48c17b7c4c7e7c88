"""Cut an answer into claims (sentences) and the ``[n]`` citations each one makes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.answer.evidence import CITATION_MARKER, parse_citations, strip_citations
from app.text.language import is_han
from app.text.sentences import sentence_spans

# Citation marks written after the full stop ("… risk. [1][2]") belong to the sentence before it.
_MARKS_AFTER_STOP = re.compile(r"([.!?。！？])((?:\s*\[[\d\s,，、;]+\])+)")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)、])\s+")
_WORD = re.compile(r"[A-Za-z0-9\u3400-\u9fff]")
_REPEATED_STOP = re.compile(r"([.!?。！？])[.!?。！？\s]*$")
_OPEN_MARK = re.compile(r"\[[\d\s,，、;]*$")
_ENUMERATION = re.compile(r"^\s*(?:\d{1,2}|[A-Za-z])[.)、]?\s*$")  # "1." cut off a numbered list


@dataclass(frozen=True)
class RawClaim:
    text: str  # the claim without citation marks
    cited: tuple[int, ...]  # every number it cites, given or not


def split_claims(answer: str) -> list[RawClaim]:
    """The sentences of an answer with their citations; marks alone or empty lines are not claims."""
    text = _MARKS_AFTER_STOP.sub(lambda m: f"{m.group(2).strip()}{m.group(1)}", answer)
    claims: list[RawClaim] = []
    for span in sentence_spans(text):
        sentence = _BULLET.sub("", text[span.start : span.end])
        plain = strip_citations(sentence)
        if not _WORD.search(plain) or _ENUMERATION.match(plain):
            if claims and CITATION_MARKER.search(sentence):  # marks on their own line: the claim before
                last = claims[-1]
                claims[-1] = RawClaim(last.text, tuple(dict.fromkeys((*last.cited, *parse_citations(sentence)))))
            continue
        claims.append(RawClaim(_REPEATED_STOP.sub(r"\1", plain), tuple(parse_citations(sentence))))
    return claims


def complete_claims(partial: str) -> list[RawClaim]:
    """The claims of a partial (still streaming) answer that are certainly complete: all but the last,
    after a citation mark still being written is set aside."""
    return split_claims(_OPEN_MARK.sub("", partial))[:-1]


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
