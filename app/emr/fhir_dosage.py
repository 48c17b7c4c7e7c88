"""The dose regimen of a FHIR R4 MedicationRequest, so a hospital dose-limit rule can be checked at order-sign time.

A dose-limit rule (``app.rules.MaxDose``) says "at most 25 mg per week"; a draft order says "10 mg orally once
daily" in FHIR's ``Dosage``: ``doseAndRate`` (a dose quantity or range, or an infusion rate), ``timing`` (a
structured ``repeat``, an HL7 v3 GTSAbbreviation ``code`` such as BID, or ``event`` dates), ``maxDosePerPeriod``
and ``maxDosePerAdministration`` (the prescriber's own caps), ``route`` and ``asNeeded[x]``.  This module turns
that into the most the order allows per administration, per day and per week, in one canonical UCUM unit, so the
checker only compares numbers.  It reads validated ``fhir.resources`` R4B models (``parse_resource``), does no
I/O and never raises on odd-but-valid FHIR: what it cannot read it says in plain words (``problem``, ``notes``).

Decisions (FHIR R4 Dosage and Timing):

- ``dosageInstruction`` elements with the same ``sequence`` are concurrent (R4: "if the sequence number of
  multiple Dosages is the same ... concurrent; if different ... sequential"): their per-day and per-week amounts
  add up, and one regimen stands for them.  Elements without a sequence are read alike — as one concurrent group —
  because a split dose ("5 mg in the morning", "10 mg at night") is often sent that way; summing can only
  over-state, never hide, a total.  Different sequences are separate regimens: the checker takes the worst.
- Amounts are the most the instruction allows: the upper end of a dose range or ``frequencyMax``, the shorter end
  of a period range, counted over any day (or 7 days) — every other day is 4 doses in some week — and lowered by
  the prescriber's ``maxDosePerAdministration``/``maxDosePerPeriod`` and by ``repeat.count``.  An as-needed order
  with no frequency is bounded by ``maxDosePerPeriod`` alone.
- Of several ``doseAndRate`` entries the first checkable one is used, "ordered" before "calculated" before
  untyped: an ordered 5 mg/kg with a calculated 350 mg is checked as 350 mg.
- A dose in tablets, capsules or puffs is multiplied by the product's single strength, a dose in mL by its
  concentration (``strength_of``); U (units) and [iU] (international units) are kept apart, as UCUM keeps them.
- An infusion rate (mg/h) with ``repeat.duration`` is an intermittent dose (rate × duration); with no timing it is
  a continuous infusion (rate × 24 h per day); otherwise it is not checked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

UCUM = "http://unitsofmeasure.org"
GTS_ABBREVIATION = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
SNOMED = "http://snomed.info/sct"
PERS = ("dose", "day", "week")

# --- units -------------------------------------------------------------------------------------------------------

#: Spellings of dose units (lower case, micro signs folded to "u") -> the canonical UCUM unit.
_UNIT_SPELLINGS = {
    **dict.fromkeys(("g", "gm", "gram", "grams"), "g"),
    **dict.fromkeys(("mg", "milligram", "milligrams", "milligramme", "milligrammes"), "mg"),
    **dict.fromkeys(("ug", "mcg", "microgram", "micrograms", "microgramme", "microgrammes"), "ug"),
    **dict.fromkeys(("ng", "nanogram", "nanograms"), "ng"),
    **dict.fromkeys(("kg", "kilogram", "kilograms"), "kg"),
    **dict.fromkeys(("ml", "milliliter", "milliliters", "millilitre", "millilitres", "cc", "cm3"), "mL"),
    **dict.fromkeys(("l", "liter", "liters", "litre", "litres"), "L"),
    **dict.fromkeys(("mol", "mole", "moles"), "mol"),
    **dict.fromkeys(("mmol", "millimole", "millimoles"), "mmol"),
    **dict.fromkeys(("umol", "micromole", "micromoles"), "umol"),
    **dict.fromkeys(("meq", "[meq]", "milliequivalent", "milliequivalents"), "meq"),
    **dict.fromkeys(("u", "[u]", "unit", "units", "unt", "{unit}", "{units}"), "U"),
    **dict.fromkeys(("[iu]", "iu", "[iu_]", "international unit", "international units"), "[iU]"),
}
#: Canonical unit -> (dimension, power of ten of the dimension's base unit).
_SCALE = {"kg": ("mass", 3), "g": ("mass", 0), "mg": ("mass", -3), "ug": ("mass", -6), "ng": ("mass", -9),
          "L": ("volume", 0), "mL": ("volume", -3), "mol": ("substance", 0), "mmol": ("substance", -3),
          "umol": ("substance", -6), "meq": ("equivalents", 0), "U": ("units", 0), "[iU]": ("international units", 0)}
#: Units of presentation a dose may be counted in (UCUM annotations, orderable-drug-form codes, words, SNOMED).
_COUNT_FORMS = {
    **dict.fromkeys(("tbl", "tab", "tabs", "tablet", "tablets", "732936001", "385055001"), "tablet"),
    **dict.fromkeys(("cap", "caps", "capsule", "capsules", "732937005", "385049006"), "capsule"),
    **dict.fromkeys(("puff", "puffs", "actuat", "actuation", "actuations", "inhalation", "spray", "sprays"), "puff"),
    **dict.fromkeys(("patch", "patches"), "patch"),
    **dict.fromkeys(("supp", "supp.", "suppository", "suppositories"), "suppository"),
    **dict.fromkeys(("lozenge", "lozenges", "troche", "troches"), "lozenge"),
    **dict.fromkeys(("each", "ea", "unit dose", "dose"), "unit"),
}
_PER_BODY = re.compile(r"/\s*(?:\[?kg\]?|kilogram|m2|m\.2|m\^2|\[?m2\]?)\b|/\s*m²", re.IGNORECASE)
#: Time units (UCUM codes and words) -> days.
_DAYS = {"s": Fraction(1, 86400), "min": Fraction(1, 1440), "h": Fraction(1, 24), "d": Fraction(1),
         "wk": Fraction(7), "mo": Fraction(487, 16), "a": Fraction(1461, 4)}  # UCUM mo, a: Julian mean month, year
_TIME_WORDS = {**dict.fromkeys(("sec", "second", "seconds"), "s"), **dict.fromkeys(("minute", "minutes"), "min"),
               **dict.fromkeys(("hr", "hrs", "hour", "hours"), "h"), **dict.fromkeys(("day", "days"), "d"),
               **dict.fromkeys(("w", "week", "weeks"), "wk"), **dict.fromkeys(("month", "months"), "mo"),
               **dict.fromkeys(("y", "yr", "year", "years"), "a")}
_TIME_NAMES = {"s": "second", "min": "minute", "h": "hour", "d": "day", "wk": "week", "mo": "month", "a": "year"}


def _fold(unit: str) -> str:
    return unit.strip().replace("µ", "u").replace("μ", "u").lower()


def canonical_unit(unit: str | None) -> str | None:
    """A dose unit (UCUM code or a common spelling) -> its canonical UCUM unit ("MG" -> "mg", "mcg" -> "ug",
    "mEq" -> "meq", "units" -> "U", "IU" -> "[iU]"); None for anything else (tablets included)."""
    if not unit:
        return None
    return _UNIT_SPELLINGS.get(_fold(unit))


def convert(value: float, unit: str, to_unit: str) -> float | None:
    """``value`` in ``unit`` expressed in ``to_unit`` (any spelling ``canonical_unit`` knows), or None when the two
    are not of one dimension (mg and mL; U and [iU], which UCUM does not relate)."""
    source, target = canonical_unit(unit), canonical_unit(to_unit)
    if source is None or target is None or _SCALE[source][0] != _SCALE[target][0]:
        return None
    shift = _SCALE[source][1] - _SCALE[target][1]
    return _clean(value * 10 ** shift if shift >= 0 else value / 10 ** -shift)


def _count_form(unit: str | None) -> str | None:
    if not unit:
        return None
    word = _fold(unit).strip("{}").strip()
    return _COUNT_FORMS.get(word) or _COUNT_FORMS.get(word.removesuffix("(s)"))


def _time_unit(unit: str | None) -> str | None:
    if not unit:
        return None
    code = unit.strip()
    return code if code in _DAYS else _TIME_WORDS.get(code.lower())


def _days(value: Any, unit: str | None) -> Fraction | None:
    code = _time_unit(unit)
    if value is None or code is None or value <= 0:
        return None
    return Fraction(value) * _DAYS[code]


def _num(value: Any) -> float:
    return float(value)


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _round(value: float) -> float:
    """Float noise rounded off (0.1 mg × 3 is 0.3 mg, not just above a 0.3 mg limit)."""
    return float(f"{value:.12g}")


def _clean(value: float | None) -> float | None:
    return None if value is None else _round(value)


# --- strength ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Strength:
    """The amount of the one active ingredient in one unit of the product (``per="unit"``: a tablet, capsule,
    puff) or in one mL of it (``per="mL"``: a liquid's concentration)."""

    amount: float
    unit: str  # canonical UCUM unit
    per: str = "unit"

    @property
    def words(self) -> str:
        return f"{_fmt(self.amount)} {self.unit}" + ("/mL" if self.per == "mL" else "")


_NAME_STRENGTH = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(mg|mcg|µg|ug|g|meq|unt|units?|iu|mmol)\b"
    r"(?:\s*/\s*(\d+(?:\.\d+)?)?\s*(ml|actuat|hr|h|g|mg|l|day|kg)\b)?", re.IGNORECASE)


def _name_strengths(name: str) -> list[Strength | None]:
    """Each strength written in an RxNorm-style name; None for one that is no amount per unit or per mL (a patch's
    0.025 MG/HR, a cream's 10 MG/G)."""
    out: list[Strength | None] = []
    for value, unit, per_value, per_unit in _NAME_STRENGTH.findall(name):
        canonical = canonical_unit(unit)
        per = (per_unit or "").lower()
        if canonical is None or per not in ("", "ml", "actuat"):
            out.append(None)
            continue
        amount = _round(float(value) / (float(per_value) if per_value else 1.0))
        out.append(Strength(amount, canonical, "mL" if per == "ml" else "unit"))
    return out


def _ratio_strength(ratio: Any) -> Strength | None:
    numerator, denominator = ratio.numerator, ratio.denominator
    if numerator is None or numerator.value is None:
        return None
    unit = canonical_unit(_quantity_unit(numerator))
    if unit is None or unit == "mL":
        return None
    per_value = _num(denominator.value) if denominator is not None and denominator.value is not None else 1.0
    per_unit = _quantity_unit(denominator) if denominator is not None else None
    if per_value <= 0:
        return None
    if per_unit is None or _count_form(per_unit) or per_unit.strip() == "1":
        return Strength(_round(_num(numerator.value) / per_value), unit)
    millilitres = convert(per_value, per_unit, "mL")
    return Strength(_round(_num(numerator.value) / millilitres), unit, "mL") if millilitres else None


def _medication_strength(medication: Any) -> tuple[bool, Strength | None]:
    """(whether the Medication says, the single strength): several active ingredients -> None."""
    active = [i for i in getattr(medication, "ingredient", None) or [] if i.isActive is not False]
    if not any(i.strength for i in active):
        return False, None
    return True, _ratio_strength(active[0].strength) if len(active) == 1 else None


def strength_of(names: Sequence[str], medication: Any | None = None) -> Strength | None:
    """The single strength of the ordered product: from a Medication's one active ``ingredient[].strength``
    (a Ratio per tablet, per mL ...), else from the first name with strengths ("Methotrexate 2.5 MG Oral Tablet",
    "Amoxicillin 250 MG/5 ML Oral Suspension"); None for a combination, a rate (MG/HR) or no strength."""
    if medication is not None:
        said, strength = _medication_strength(medication)
        if said:
            return strength
    for name in names:
        strengths = _name_strengths(name)
        if strengths:
            return strengths[0] if len(strengths) == 1 else None
    return None


def _as_strength(strength: Strength | tuple[float, str] | None) -> Strength | None:
    if strength is None or isinstance(strength, Strength):
        return strength
    unit = canonical_unit(strength[1])
    return Strength(float(strength[0]), unit) if unit else None


# --- routes ------------------------------------------------------------------------------------------------------

_ROUTE_CODES = {  # SNOMED CT route of administration (and the UK extension's inhalation)
    "26643006": "oral", "47625008": "intravenous", "78421000": "intramuscular", "34206005": "subcutaneous",
    "37161004": "rectal", "6064005": "topical", "447694001": "inhalation", "18679011000001101": "inhalation",
    "45890007": "transdermal", "37839007": "sublingual", "54471007": "buccal", "46713006": "nasal",
    "54485002": "ophthalmic", "10547007": "otic", "16857009": "vaginal", "72607000": "intrathecal",
    "404820008": "epidural", "58100008": "intra-arterial", "372464004": "intradermal", "12130007": "intra-articular",
    "127490009": "enteral", "127492001": "enteral", "418136008": "enteral",
}
_ROUTE_ABBREVIATIONS = {
    **dict.fromkeys(("po", "per os", "by mouth", "orally", "os"), "oral"),
    **dict.fromkeys(("iv", "ivp", "ivpb", "ivinj", "ivinfus", "i.v."), "intravenous"),
    **dict.fromkeys(("im", "i.m."), "intramuscular"),
    **dict.fromkeys(("sc", "sq", "subq", "sub-q", "subcut", "s.c.", "s/c"), "subcutaneous"),
    **dict.fromkeys(("pr",), "rectal"), **dict.fromkeys(("sl",), "sublingual"),
    **dict.fromkeys(("inh", "neb"), "inhalation"), **dict.fromkeys(("td",), "transdermal"),
    **dict.fromkeys(("it",), "intrathecal"), **dict.fromkeys(("ng", "peg", "gt", "ngt"), "enteral"),
}
_ROUTE_WORDS = (  # searched in order: the more specific words first
    (r"sublingual", "sublingual"), (r"buccal|oromucosal", "buccal"), (r"intravenous|\bvenous", "intravenous"),
    (r"intramuscular", "intramuscular"), (r"subcutaneous|hypodermic", "subcutaneous"),
    (r"intrathecal", "intrathecal"), (r"epidural", "epidural"), (r"intra-?arterial", "intra-arterial"),
    (r"intradermal", "intradermal"), (r"intra-?articular", "intra-articular"), (r"transdermal", "transdermal"),
    (r"\brect(?:al|um)\b", "rectal"), (r"vagina", "vaginal"), (r"inhal|respiratory|nebuli[sz]", "inhalation"),
    (r"\bnasal|intranasal|nose\b", "nasal"), (r"ophthalmic|\beyes?\b|ocular", "ophthalmic"),
    (r"\botic\b|\bears?\b|auricular", "otic"), (r"topical|cutaneous|\bskin\b|dermal", "topical"),
    (r"gastrostomy|nasogastric|jejunostomy|enteral|feeding tube", "enteral"),
    (r"\boral|\bmouth\b|swallow", "oral"),
)
#: Dose forms of RxNorm-style names that say the route; "Injection", "Injectable Solution" say none.
_FORM_ROUTES = (
    (r"\bsublingual\b", "sublingual"), (r"\bbuccal\b", "buccal"), (r"\btransdermal\b|\bpatch\b", "transdermal"),
    (r"\brectal\b|\bsuppositor", "rectal"), (r"\bvaginal\b", "vaginal"), (r"\bophthalmic\b", "ophthalmic"),
    (r"\botic\b", "otic"), (r"\bnasal\b", "nasal"), (r"\binhal|\bnebuli[sz]", "inhalation"),
    (r"\btopical\b|\bcream\b|\bointment\b|\bgel\b|\blotion\b", "topical"),
    (r"\boral\b|\btablet\b|\bcapsule\b|\bcaplet\b|\bsyrup\b|\belixir\b", "oral"),
    (r"\bintravenous\b", "intravenous"), (r"\bintramuscular\b", "intramuscular"),
    (r"\bsubcutaneous\b", "subcutaneous"),
)


def route_of_text(text: str) -> str | None:
    """A route name, abbreviation or SNOMED display -> the normalised route ("PO", "Oral route" -> "oral";
    "Respiratory tract route (qualifier value)" -> "inhalation"); None when it names none."""
    folded = " ".join(text.lower().split())
    if not folded:
        return None
    if folded in _ROUTE_ABBREVIATIONS:
        return _ROUTE_ABBREVIATIONS[folded]
    first = folded.split(" ")[0].rstrip(".,;")
    if first in _ROUTE_ABBREVIATIONS and first not in ("it", "os", "pr"):  # "IV push"; not the English "it"
        return _ROUTE_ABBREVIATIONS[first]
    return next((route for pattern, route in _ROUTE_WORDS if re.search(pattern, folded)), None)


def route_of_concept(concept: Any) -> str | None:
    """The route a Dosage.route CodeableConcept names: a known SNOMED CT code first, then its text and displays."""
    if concept is None:
        return None
    for coding in concept.coding or []:
        if coding.code in _ROUTE_CODES and coding.system in (SNOMED, None):
            return _ROUTE_CODES[coding.code]
    texts = [concept.text] + [c.display for c in concept.coding or []] + [c.code for c in concept.coding or []]
    return next((route for t in texts if t and (route := route_of_text(t))), None)


def route_of_names(names: Iterable[str]) -> str | None:
    """The route a product's dose form implies ("Methotrexate 2.5 MG Oral Tablet" -> "oral"); None when no name's
    form says one clearly ("Injection" may be intravenous, intramuscular or subcutaneous)."""
    for name in names:
        folded = name.lower()
        route = next((r for pattern, r in _FORM_ROUTES if re.search(pattern, folded)), None)
        if route:
            return route
    return None


# --- timing ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Schedule:
    per_day: int | None  # the most administrations in any one day
    per_week: int | None  # ... in any 7 days
    words: str
    rate: Fraction | None = None  # administrations per day on average, where the timing is a frequency
    continuous: bool = False  # an infusion running all day: the "dose" is its amount per hour, no single dose


def _every(frequency: int, period: Fraction, unit: str, frequency_max: int | None = None,
           period_max: Fraction | None = None) -> str:
    """Plain words for "frequency(-frequency_max) times per period(-period_max) unit"."""
    name = _TIME_NAMES[unit]
    ranged = period_max is not None and period_max > period
    top = f"–{_fmt(float(period_max))}" if ranged and period_max is not None else ""
    span = f"{_fmt(float(period))}{top} {name}s" if period != 1 or ranged else name
    if frequency_max and frequency_max > frequency:
        times = f"{frequency}–{frequency_max} times"
    elif frequency == 1:
        if period == 1 and not ranged:
            return "every hour" if unit == "h" else f"once a {name}"
        return "every other day" if period == 2 and unit == "d" and not ranged else f"every {span}"
    else:
        times = "twice" if frequency == 2 else f"{frequency} times"
    return f"{times} a {name}" if period == 1 and not ranged else f"{times} every {span}"


def _rate_schedule(frequency: int, period_days: Fraction, words: str) -> _Schedule:
    rate = frequency / period_days
    return _Schedule(math.ceil(rate), math.ceil(rate * 7), words, rate)


_WEEKDAYS = {day: i for i, day in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
_WHEN_TIMES = {"AC": 3, "PC": 3, "C": 3}  # before / after / with each of the three meals; every other code is once
_WHEN_WORDS = {
    "MORN": "in the morning", "MORN.early": "early morning", "MORN.late": "late morning", "NOON": "at noon",
    "AFT": "in the afternoon", "AFT.early": "early afternoon", "AFT.late": "late afternoon", "EVE": "in the evening",
    "EVE.early": "early evening", "EVE.late": "late evening", "NIGHT": "at night", "PHS": "after sleep",
    "HS": "at bedtime", "WAKE": "on waking", "C": "with meals", "CM": "with breakfast", "CD": "with lunch",
    "CV": "with dinner", "AC": "before meals", "ACM": "before breakfast", "ACD": "before lunch",
    "ACV": "before dinner", "PC": "after meals", "PCM": "after breakfast", "PCD": "after lunch",
    "PCV": "after dinner",
}


def _times_a_day(repeat: Any) -> tuple[int | None, str]:
    """Administrations a day from ``timeOfDay`` and ``when``, with their words; (None, "") when neither is given."""
    times = sorted({t for t in repeat.timeOfDay or [] if t is not None})
    when = list(dict.fromkeys(w for w in repeat.when or [] if w))
    counts = [n for n in (len(times), sum(_WHEN_TIMES.get(w, 1) for w in when)) if n]
    words = [f"at {', '.join(str(t)[:5] for t in times)}" if times else "",
             " and ".join(_WHEN_WORDS.get(w, w) for w in when)]
    return (max(counts) if counts else None), " ".join(w for w in words if w)


def _from_repeat(repeat: Any) -> _Schedule | None:
    daily, daily_words = _times_a_day(repeat)
    frequency = repeat.frequencyMax or repeat.frequency or (1 if repeat.period is not None else None)
    period = _days(repeat.period, repeat.periodUnit)
    schedule = None
    if frequency and period:
        words = _every(repeat.frequency or 1, Fraction(repeat.period), _time_unit(repeat.periodUnit) or "d",
                       repeat.frequencyMax, Fraction(repeat.periodMax) if repeat.periodMax is not None else None)
        schedule = _rate_schedule(frequency, period, words)
        if daily and period <= 1 and daily > (schedule.per_day or 0):
            schedule = _Schedule(daily, daily * 7, words, Fraction(daily))
    elif daily:
        schedule = _Schedule(daily, daily * 7, "", Fraction(daily))
    if schedule and daily_words:
        schedule = replace(schedule, words=f"{schedule.words} {daily_words}".strip())
    days = sorted({str(d).lower() for d in repeat.dayOfWeek or [] if d}, key=lambda d: _WEEKDAYS.get(d, 7))
    return _on_days(schedule, days) if days else schedule


def _on_days(schedule: _Schedule | None, days: list[str]) -> _Schedule:
    """A schedule kept to some days of the week: its daily count on each of them."""
    per_day = schedule.per_day if schedule and schedule.per_day else 1
    per_week = per_day * len(days)
    if schedule and schedule.per_week is not None and schedule.rate is not None and schedule.rate < 1:
        per_week = min(per_week, schedule.per_week)  # "once a week, on Monday or Thursday"
    words = schedule.words if schedule and schedule.words else ("once" if per_day == 1 else f"{per_day} times")
    return _Schedule(per_day, per_week, f"{words} on {', '.join(d.capitalize() for d in days)}")


_CODES: dict[str, tuple[int, Fraction, str]] = {  # HL7 v3 GTSAbbreviation (R4 timing-abbreviation) and kin
    "QD": (1, Fraction(1), "d"), "DAILY": (1, Fraction(1), "d"), "AM": (1, Fraction(1), "d"),
    "PM": (1, Fraction(1), "d"), "BED": (1, Fraction(1), "d"), "HS": (1, Fraction(1), "d"),
    "QAM": (1, Fraction(1), "d"), "QPM": (1, Fraction(1), "d"), "QHS": (1, Fraction(1), "d"),
    "BID": (2, Fraction(1), "d"), "TID": (3, Fraction(1), "d"), "QID": (4, Fraction(1), "d"),
    "QOD": (1, Fraction(2), "d"), "QH": (1, Fraction(1), "h"), "WK": (1, Fraction(1), "wk"),
    "QW": (1, Fraction(1), "wk"), "QWK": (1, Fraction(1), "wk"), "BIW": (2, Fraction(1), "wk"),
    "TIW": (3, Fraction(1), "wk"), "MO": (1, Fraction(1), "mo"),
}
_CODE_EVERY = re.compile(r"^Q(\d+(?:\.\d+)?)(H|D|WK?|MIN)$")
_CODE_UNITS = {"H": "h", "D": "d", "W": "wk", "WK": "wk", "MIN": "min"}
_CODE_WORDS = {"AM": "once a day in the morning", "PM": "once a day in the evening", "BED": "once a day at bedtime",
               "HS": "once a day at bedtime", "QAM": "once a day in the morning", "QPM": "once a day in the evening",
               "QHS": "once a day at bedtime"}


def _code_schedule(code: str) -> _Schedule | None:
    key = re.sub(r"[\s.]", "", code).upper()
    if key in _CODES:
        frequency, period, unit = _CODES[key]
    elif match := _CODE_EVERY.match(key):
        frequency, period, unit = 1, Fraction(match.group(1)), _CODE_UNITS[match.group(2)]
    else:
        return None
    if period <= 0:
        return None
    words = _CODE_WORDS.get(key) or _every(frequency, period, unit)
    return _rate_schedule(frequency, period * _DAYS[unit], words)


def _from_code(concept: Any) -> _Schedule | None:
    if concept is None:
        return None
    codes = [c.code for c in concept.coding or [] if c.code and c.system in (GTS_ABBREVIATION, None)]
    return next((s for code in [*codes, concept.text or ""] if code and (s := _code_schedule(code))), None)


def _event_day(event: Any) -> date | None:
    if isinstance(event, datetime):
        return event.date()
    if isinstance(event, date):
        return event
    try:
        return date.fromisoformat(str(event)[:10])
    except ValueError:
        return None


def _from_events(events: Sequence[Any] | None) -> _Schedule | None:
    days = sorted(d for d in (_event_day(e) for e in events or []) if d is not None)
    if not days:
        return None
    per_day = max(days.count(d) for d in set(days))
    per_week = max(sum(1 for other in days if day <= other < day + timedelta(days=7)) for day in days)
    return _Schedule(per_day, per_week, f"on {len(days)} set date{'s' if len(days) > 1 else ''}")


def _bounded(schedule: _Schedule | None, repeat: Any) -> _Schedule | None:
    """A schedule lowered by ``repeat.count``/``countMax`` (the total administrations) and ``boundsDuration``."""
    if repeat is None:
        return schedule
    total = repeat.countMax or repeat.count
    if total:
        if schedule is None or schedule.per_day is None:
            return _Schedule(total, total, "once" if total == 1 else f"{total} times in all")
        schedule = _Schedule(min(schedule.per_day, total), min(schedule.per_week or total, total),
                             f"{schedule.words}, {total} times in all", schedule.rate)
    bound = repeat.boundsDuration
    span = _days(bound.value, bound.code or bound.unit) if bound is not None else None
    if schedule and schedule.rate and schedule.per_week and span is not None and span < 7:
        schedule = replace(schedule, per_week=min(schedule.per_week, math.ceil(schedule.rate * span)))
    return schedule


def _schedule(timing: Any) -> _Schedule | None:
    """How often the timing gives the dose; None when it does not say."""
    if timing is None:
        return None
    repeat = timing.repeat
    schedule = _from_repeat(repeat) if repeat is not None else None
    schedule = schedule or _from_code(timing.code) or _from_events(timing.event)
    return _bounded(schedule, repeat)


# --- amounts -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Amount:
    value: float | None
    unit: str | None  # canonical
    words: str
    problem: str | None = None


def _quantity_unit(quantity: Any) -> str | None:
    """A Quantity's unit: its UCUM (or system-less) code, else its human-readable unit."""
    if quantity is None:
        return None
    code = quantity.code if quantity.system in (UCUM, None) else None
    return code or quantity.unit or quantity.code


def _amount(quantity: Any, strength: Strength | None, what: str = "the dose") -> _Amount:
    """A dose quantity in a canonical unit: a count of tablets times the strength, mL times the concentration."""
    label = quantity.unit or quantity.code or ""
    if quantity.value is None:
        return _Amount(None, None, label, f"{what} has no amount")
    value = _num(quantity.value)
    units = [u for u in (_quantity_unit(quantity), quantity.unit, quantity.code) if u]
    if not units:
        return _Amount(None, None, _fmt(value), f"{what} has no unit")
    if any(_PER_BODY.search(u) for u in units):
        return _Amount(None, None, f"{_fmt(value)} {label}",
                       f"{what} is per body weight or surface area ({label}): not checked")
    if unit := next((c for u in units if (c := canonical_unit(u))), None):
        return _concentrated(value, unit, strength)
    if form := next((f for u in units if (f := _count_form(u))), None):
        return _counted(value, form, strength, what)
    return _Amount(None, None, f"{_fmt(value)} {label}", f"{what} is in {label!r}, which is not a known unit")


def _concentrated(value: float, unit: str, strength: Strength | None) -> _Amount:
    words = f"{_fmt(value)} {unit}"
    if unit == "mL" and strength is not None and strength.per == "mL":
        amount = _round(value * strength.amount)
        return _Amount(amount, strength.unit, f"{words} of {strength.words} ({_fmt(amount)} {strength.unit})")
    return _Amount(value, unit, words)


def _counted(value: float, form: str, strength: Strength | None, what: str) -> _Amount:
    plural = {"patch": "patches", "suppository": "suppositories"}.get(form, form + "s")
    words = f"{_fmt(value)} {form if value == 1 else plural}"
    if strength is None or strength.per != "unit":
        return _Amount(None, None, words, f"{what} is given in {plural} and the product's strength is unknown")
    amount = _round(value * strength.amount)
    return _Amount(amount, strength.unit, f"{words} of {strength.words} ({_fmt(amount)} {strength.unit})")


def _range_amount(dose_range: Any, strength: Strength | None) -> tuple[_Amount, str | None]:
    """The top of a dose range; a range with only a low end gives that, and says so."""
    if dose_range.high is not None and dose_range.high.value is not None:
        amount = _amount(dose_range.high, strength)
        low = dose_range.low.value if dose_range.low is not None and dose_range.low.value is not None else None
        words = f"{_fmt(_num(low))}–{amount.words}" if low is not None else f"up to {amount.words}"
        return replace(amount, words=words), None
    if dose_range.low is not None and dose_range.low.value is not None:
        amount = _amount(dose_range.low, strength)
        note = "the dose range has no upper end: its lower end is used"
        return replace(amount, words=f"at least {amount.words}"), note
    return _Amount(None, None, "", "the dose range has no amount"), None


def _rate_per_hour(entry: Any, strength: Strength | None) -> _Amount | None:
    """An infusion rate (rateQuantity "mg/h", rateRatio 5 mg / 1 h, the top of rateRange) per hour; None if none."""
    if entry.rateRatio is not None:
        numerator, denominator = entry.rateRatio.numerator, entry.rateRatio.denominator
        hours = _days(denominator.value if denominator else 1, _quantity_unit(denominator) or "h")
        return _per_hour(_amount(numerator, strength, "the rate") if numerator else None, hours)
    quantity = entry.rateQuantity or (entry.rateRange.high if entry.rateRange is not None else None)
    if quantity is None:
        return None
    unit = _quantity_unit(quantity) or ""
    if "/" not in unit:
        return _Amount(None, None, unit, f"the rate's unit {unit!r} is not an amount per time")
    amount_unit, _, time = unit.rpartition("/")
    match = re.fullmatch(r"\(?(\d*(?:\.\d+)?)\.?([a-z]+)\)?", time.strip().lower())
    hours = _days(Fraction(match.group(1) or 1), match.group(2)) if match else None
    rate = _amount(quantity.model_copy(update={"code": amount_unit, "unit": amount_unit}), strength, "the rate")
    return _per_hour(rate, hours)


def _per_hour(amount: _Amount | None, days: Fraction | None) -> _Amount:
    if amount is None or amount.value is None or amount.unit is None:
        return amount or _Amount(None, None, "", "the rate has no amount")
    if days is None:
        return _Amount(None, None, amount.words, "the rate is not per a unit of time")
    per_hour = _round(amount.value / float(days * 24))
    return _Amount(per_hour, amount.unit, f"{_fmt(per_hour)} {amount.unit}/h")


_TYPE_ORDER = {"ordered": 0, "calculated": 1}


def _entry_rank(entry: Any) -> int:
    codes = [c.code for c in (entry.type.coding or [] if entry.type is not None else [])]
    return min((_TYPE_ORDER.get(c or "", 2) for c in codes), default=2)


def _dose(dosage: Any, strength: Strength | None) -> tuple[_Amount | None, _Amount | None, tuple[str, ...]]:
    """(the dose, the infusion rate per hour, notes) of the first checkable doseAndRate entry, ordered first."""
    entries = sorted(dosage.doseAndRate or [], key=_entry_rank)
    first: tuple[_Amount | None, _Amount | None, tuple[str, ...]] | None = None
    for entry in entries:
        found = _entry_dose(entry, strength)
        if (found[0] and found[0].value is not None) or (found[1] and found[1].value is not None):
            return found
        first = first or found
    return first or (None, None, ())


def _entry_dose(entry: Any, strength: Strength | None) -> tuple[_Amount | None, _Amount | None, tuple[str, ...]]:
    if entry.doseQuantity is not None:
        return _amount(entry.doseQuantity, strength), None, ()
    if entry.doseRange is not None:
        amount, note = _range_amount(entry.doseRange, strength)
        return amount, None, (note,) if note else ()
    return None, _rate_per_hour(entry, strength), ()


# --- the regimen -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DoseRegimen:
    """The most one dosage instruction (or a group of concurrent ones) allows, in one canonical unit."""

    per_dose: float | None  # the most given at one administration, in ``unit``
    unit: str | None  # canonical UCUM unit ("mg", "ug", "mL", "U", "[iU]" ...)
    per_day: float | None  # the most in any one day; None when the order does not say how often
    per_week: float | None  # the most in any 7 days
    route: str | None  # normalised route ("oral", "intravenous" ...), None when not said or several
    as_needed: bool
    description: str  # plain words for the card: "10 mg oral, once a day"
    problem: str | None  # why no amount at all can be checked, in plain words; None when one can
    field: str  # where in the resource: "dosageInstruction.0" (a group: "dosageInstruction.0, dosageInstruction.1")
    notes: tuple[str, ...] = ()  # caveats: what was assumed, or why one of the amounts is missing

    def amount(self, per: str) -> float | None:
        return {"dose": self.per_dose, "day": self.per_day, "week": self.per_week}.get(per)


def amount_per(regimen: DoseRegimen, per: str, unit: str) -> float | None:
    """The regimen's most per "dose" | "day" | "week" converted to ``unit``; None when unknown or not comparable."""
    value = regimen.amount(per)
    if value is None or regimen.unit is None:
        return None
    return convert(value, regimen.unit, unit)


def unchecked_reason(regimen: DoseRegimen, per: str, unit: str) -> str | None:
    """Why ``amount_per(regimen, per, unit)`` is None, in plain words; None when it is not."""
    if amount_per(regimen, per, unit) is not None:
        return None
    if regimen.problem:
        return regimen.problem
    if regimen.amount(per) is None:
        if per != "dose" and regimen.per_dose is not None:
            return "the order does not say how often the dose is given"
        return regimen.notes[0] if regimen.notes else f"the order gives no amount per {per}"
    if canonical_unit(unit) is None:
        return f"the limit's unit {unit!r} is not a known dose unit"
    reason = f"the order is in {regimen.unit} and the limit in {unit}: they cannot be compared"
    return reason + " (the product's concentration is unknown)" if regimen.unit == "mL" else reason


def _cap(quantity: Any, strength: Strength | None, unit: str | None) -> tuple[float | None, str | None]:
    """A maxDose quantity in ``unit`` (or its own unit when there is no dose), with a note when it cannot be used."""
    amount = _amount(quantity, strength, "the maximum dose")
    if amount.value is None or amount.unit is None:
        return None, amount.problem
    if unit is None:
        return amount.value, None
    value = convert(amount.value, amount.unit, unit)
    return value, None if value is not None else f"the maximum dose in {amount.unit} does not compare with {unit}"


def _period_caps(ratio: Any, strength: Strength | None, unit: str | None
                 ) -> tuple[float | None, float | None, str | None, str | None]:
    """maxDosePerPeriod -> (most per day, most per week, its unit, note)."""
    if ratio.numerator is None:
        return None, None, None, None
    value, note = _cap(ratio.numerator, strength, unit)
    denominator = ratio.denominator
    days = _days(denominator.value if denominator and denominator.value is not None else 1,
                 _quantity_unit(denominator)) if denominator is not None else None
    if value is None or days is None:
        return None, None, None, note or "the maximum dose per period has no time unit"
    per_day = _round(value * (math.ceil(1 / days) if days <= 1 else 1))
    per_week = _round(value * (math.ceil(7 / days) if days <= 7 else 1))
    cap_unit = unit or _amount(ratio.numerator, strength).unit
    return per_day, per_week, cap_unit, None


def _lowest(*values: float | None) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _times(value: float | None, count: int | None) -> float | None:
    return _clean(value * count) if value is not None and count is not None else None


def _describe(parts: Iterable[str]) -> str:
    return ", ".join(p for p in parts if p)


def _dosage_regimen(dosage: Any, strength: Strength | None, field: str, default_route: str | None) -> DoseRegimen:
    """One dosage instruction -> its regimen."""
    route = route_of_concept(dosage.route) or default_route
    as_needed = bool(dosage.asNeededBoolean) or dosage.asNeededCodeableConcept is not None
    if not (dosage.doseAndRate or dosage.maxDosePerAdministration or dosage.maxDosePerPeriod):
        problem = ("the dose is free text only: not checked" if dosage.text
                   else "the dosage instruction gives no dose")
        return DoseRegimen(None, None, None, None, route, as_needed, dosage.text or "no dose given", problem, field)
    dose, rate, notes = _dose(dosage, strength)
    schedule = _schedule(dosage.timing)
    if rate is not None and (dose is None or dose.value is None):
        dose, schedule, note = _infusion(rate, dosage.timing, schedule)
        notes += (note,) if note else ()
    return _combine_caps(dosage, dose, schedule, strength, notes,
                         (route, as_needed, field, dosage.text))


def _infusion(rate: _Amount, timing: Any, schedule: _Schedule | None
              ) -> tuple[_Amount, _Schedule | None, str | None]:
    """An infusion rate as a dose: rate × repeat.duration each time, or all day long when there is no timing."""
    if rate.value is None:
        return rate, schedule, None
    repeat = timing.repeat if timing is not None else None
    duration = repeat.durationMax or repeat.duration if repeat is not None else None
    days = _days(duration, repeat.durationUnit) if repeat is not None and duration is not None else None
    if days is not None:
        amount = _round(rate.value * float(days * 24))
        return _Amount(amount, rate.unit, f"{rate.words} for {_fmt(float(days * 24))} h ({_fmt(amount)} "
                                          f"{rate.unit})"), schedule, None
    if schedule is None:
        note = "a continuous infusion has no single dose: its amount per day assumes it runs all day"
        return rate, _Schedule(24, 24 * 7, "continuously", Fraction(24), continuous=True), note
    return _Amount(None, None, rate.words, "an infusion rate without a duration is not checked"), schedule, None


def _combine_caps(dosage: Any, dose: _Amount | None, schedule: _Schedule | None, strength: Strength | None,
                  notes: tuple[str, ...], about: tuple[str | None, bool, str, str | None]) -> DoseRegimen:
    """A dose and schedule lowered by the prescriber's maxDosePerAdministration and maxDosePerPeriod."""
    route, as_needed, field, text = about
    unit = dose.unit if dose is not None else None
    per_dose = dose.value if dose is not None else None
    if dose is not None and dose.problem:
        notes = (dose.problem, *notes)
    if dosage.maxDosePerAdministration is not None:
        cap, note = _cap(dosage.maxDosePerAdministration, strength, unit)
        unit = unit or (_amount(dosage.maxDosePerAdministration, strength).unit if cap is not None else None)
        per_dose, notes = _lowest(per_dose, cap), notes + ((note,) if note else ())
    per_day = _times(per_dose, schedule.per_day if schedule else None)
    per_week = _times(per_dose, schedule.per_week if schedule else None)
    if schedule is not None and schedule.continuous:
        per_dose = None
    cap_words = ""
    if dosage.maxDosePerPeriod is not None:
        day_cap, week_cap, cap_unit, note = _period_caps(dosage.maxDosePerPeriod, strength, unit)
        unit = unit or cap_unit
        per_day, per_week = _lowest(per_day, day_cap), _lowest(per_week, week_cap)
        notes += (note,) if note else ()
        cap_words = _cap_words(dosage.maxDosePerPeriod, strength) if day_cap is not None else ""
    if per_dose is None and per_day is None and per_week is None:
        problem = notes[0] if notes else "the dosage instruction gives no dose"
        return DoseRegimen(None, None, None, None, route, as_needed, text or _words(dose, route, schedule, as_needed),
                           problem, field, notes[1:])
    words = _describe([_words(dose, route, schedule, as_needed), cap_words])
    return DoseRegimen(per_dose, unit, per_day, per_week, route, as_needed, words, None, field, notes)


def _words(dose: _Amount | None, route: str | None, schedule: _Schedule | None, as_needed: bool) -> str:
    head = " ".join(p for p in (dose.words if dose else "", route or "") if p)
    how = schedule.words if schedule else ""
    return _describe([head, f"{how} as needed".strip() if as_needed else how])


def _cap_words(ratio: Any, strength: Strength | None) -> str:
    amount, denominator = _amount(ratio.numerator, strength).words, ratio.denominator
    unit = _time_unit(_quantity_unit(denominator)) if denominator is not None else None
    value = _num(denominator.value) if denominator is not None and denominator.value is not None else 1.0
    per = (f"a {_TIME_NAMES[unit]}" if value == 1 else f"per {_fmt(value)} {_TIME_NAMES[unit]}s") if unit else ""
    return f"at most {amount} {per}".strip()


# --- groups ------------------------------------------------------------------------------------------------------

def _sum(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else _clean(sum(v for v in values if v is not None))


def _in_unit(regimen: DoseRegimen, unit: str) -> tuple[float | None, ...] | None:
    """A regimen's amounts per dose, day and week in ``unit``; None when one of them does not convert."""
    values = [regimen.amount(per) for per in PERS]
    converted = [convert(v, regimen.unit or "", unit) if v is not None else None for v in values]
    lost = any(v is not None and c is None for v, c in zip(values, converted, strict=True))
    return None if lost else tuple(converted)


def _concurrent(regimens: list[DoseRegimen]) -> DoseRegimen:
    """Concurrent instructions as one regimen: per day and week add up, the dose is the largest one."""
    if len(regimens) == 1:
        return regimens[0]
    field = ", ".join(r.field for r in regimens)
    description = " + ".join(r.description for r in regimens)
    routes = sorted({r.route or "unstated" for r in regimens})
    route = regimens[0].route if len(routes) == 1 else None
    as_needed = any(r.as_needed for r in regimens)
    notes = tuple(dict.fromkeys(n for r in regimens for n in r.notes))
    notes += (f"given by several routes: {', '.join(routes)}",) if len(routes) > 1 else ()
    unreadable = [r for r in regimens if r.problem]
    if unreadable:
        problem = "; ".join(f"{r.field}: {r.problem}" for r in unreadable)
        return DoseRegimen(None, None, None, None, route, as_needed, description, problem, field, notes)
    unit = regimens[0].unit or ""
    amounts = [_in_unit(r, unit) for r in regimens]
    if any(a is None for a in amounts):
        problem = "the instructions give doses in units that do not add up: " + ", ".join(
            dict.fromkeys(str(r.unit) for r in regimens))
        return DoseRegimen(None, None, None, None, route, as_needed, description, problem, field, notes)
    per_dose, per_day, per_week = ([a[i] for a in amounts if a is not None] for i in range(3))
    most = None if any(v is None for v in per_dose) else max(v for v in per_dose if v is not None)
    return DoseRegimen(most, unit, _sum(per_day), _sum(per_week), route, as_needed, description, None, field, notes)


def dose_regimens(request: Any, strength: Strength | tuple[float, str] | None = None, field: str = "",
                  default_route: str | None = None) -> list[DoseRegimen]:
    """The dose regimens of a MedicationRequest (a ``fhir.resources`` model; a MedicationStatement's ``dosage``
    alike): one per ``sequence`` group of its ``dosageInstruction`` (concurrent instructions summed), in sequence
    order, instructions without a sequence last; [] when it has none.

    ``strength``: the product's single strength (``strength_of``), to count tablets and mL; ``field``: where the
    resource sits in the request, prefixed to each regimen's field; ``default_route``: the route when a dosage
    names none (``route_of_names`` of the product)."""
    prefix = f"{field}." if field else ""
    product = _as_strength(strength)
    groups: dict[int | None, list[DoseRegimen]] = {}
    name = "dosage" if request.get_resource_type() == "MedicationStatement" else "dosageInstruction"
    for i, dosage in enumerate(getattr(request, name, None) or []):
        regimen = _dosage_regimen(dosage, product, f"{prefix}{name}.{i}", default_route)
        groups.setdefault(dosage.sequence, []).append(regimen)
    order = sorted(groups, key=lambda s: (s is None, s or 0))
    return [_concurrent(groups[s]) for s in order]
