"""Minimum necessary in what is stored: direct identifiers taken out of questions before traces and logs keep them.

A clinician may type "Patient John Smith MRN 123456, DOB 1950-03-02: can he take warfarin with aspirin?".  The
answer needs the drugs, not the patient; with ``MEDEVIDENCE_REDACT_IDENTIFIERS=1`` (on in the compose profile)
what is *stored* — the question and its standalone rewrite in the answer trace, the prompt and the model's raw
output and reasoning, log messages — has the identifiers below replaced by ``[REDACTED:<kind>]``.  The answer
itself is computed from the question as typed and returned unchanged.

What it catches (``PATTERNS``, in this order):

- ``mrn``: a medical record, patient, chart, admission or hospital number after its label ("MRN 123456",
  "medical record number: A-99812", "病历号 123456", "住院号：ZY2024001");
- ``national_id``: an 18-character Chinese resident ID number (17 digits and a digit or X), a US SSN
  (123-45-6789), and a number after "ID", "passport", "身份证(号)";
- ``email``: an e-mail address;
- ``phone``: a Chinese mobile number (1[3-9] + 9 digits), and numbers written as phone numbers — "+" and a
  country code, or digit groups split by spaces, dots or dashes with 9 to 15 digits in all ("(555) 123-4567",
  "010-6512 3456");
- ``dob``: a date after "DOB", "date of birth", "born (on)", "出生日期", "生日";
- ``name``: a name introduced as a patient's — "patient John Smith", "pt. Jane Doe", "Mr/Mrs/Ms Smith",
  "患者张三", "病人李四".

What it does not catch: a bare name not introduced as a patient's ("John Smith asks…"), a bare date not
labelled as a birth date, addresses, ages, ward or bed numbers, and identifiers in an unlabelled free format.
Doses ("500 mg twice a day"), years and lab values are not numbers in a phone's shape and stay.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_DATE = r"(?:\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2} [A-Za-z]{3,9} \d{4}" \
        r"|[A-Za-z]{3,9} \d{1,2},? \d{4})"
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("mrn", re.compile(r"(?:\b(?:MRN|medical record(?: number| no\.?)?|patient (?:ID|number|no\.?)"
                       r"|chart (?:number|no\.?)|admission (?:number|no\.?)|hospital (?:number|no\.?))"
                       r"|病历号|住院号|门诊号)\s*[:：#]?\s*[A-Za-z0-9][A-Za-z0-9-]{3,}", re.I)),
    ("national_id", re.compile(r"\b\d{17}[\dXx]\b|\b\d{3}-\d{2}-\d{4}\b"
                               r"|(?:\b(?:ID|passport)(?: (?:number|no\.?))?|身份证号?)\s*[:：#]?\s*"
                               r"[A-Za-z0-9][A-Za-z0-9-]{4,}", re.I)),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("phone", re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)|\+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}"
                         r"|(?<![\w.])\(?\d{2,4}\)?[\s.-]\d{3,4}[\s.-]\d{3,4}(?![\w.])")),
    ("dob", re.compile(rf"(?:\b(?:DOB|D\.O\.B\.?|date of birth|born(?: on)?)|出生日期|生日)\s*[:：]?\s*{_DATE}", re.I)),
    ("name", re.compile(r"\b(?i:patient|pt\.?|mr\.?|mrs\.?|ms\.?|miss)\s+[A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+)?"
                        r"|(?:患者|病人|病患)[\u4e00-\u9fff]{2,3}(?=[，,。:：\s]|$)")),
)


def redact(text: str) -> str:
    """``text`` with every identifier of ``PATTERNS`` replaced by ``[REDACTED:<kind>]``."""
    for kind, pattern in PATTERNS:
        text = pattern.sub(f"[REDACTED:{kind}]", text)
    return text


def redact_trace(trace: dict[str, Any], redactor: Callable[[str], str] = redact) -> dict[str, Any]:
    """The parts of an answer trace that carry the question as typed: the question, its rewrite, the prompt,
    the model's raw output and reasoning.  Evidence, citations and verification are the documents' words."""
    out = dict(trace)
    for key in ("question", "standalone_question", "raw_output", "reasoning"):
        if isinstance(out.get(key), str):
            out[key] = redactor(out[key])
    if isinstance(out.get("prompt"), list):
        out["prompt"] = [{**m, "content": redactor(m["content"])} if isinstance(m.get("content"), str) else m
                         for m in out["prompt"]]
    return out
