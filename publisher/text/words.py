"""Plain-English phrasing of dates, money, counts and lengths of time, used as template
filters (every template sees FILTERS: publisher/text/templates.py).

Approximate dates stay approximate: a month is "around March 2027", a quarter is
"April to June 2027", a year is "during 2027"; only a plan that names a day gets a day.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from publisher.plans.dates import MONTHS, PlanDate, Precision
from publisher.plans.model import Amount, Duration, GrantSize, Money, Range
from publisher.text.organisations import kind_name

FIRST_WORD = re.compile(r"[\w'’-]+")


def clock(hour: int, minute: int) -> str:
    """GOV.UK style times: 10am, 2:30pm, midday, midnight."""
    if (hour, minute) == (12, 0):
        return "midday"
    if (hour, minute) == (0, 0):
        return "midnight"
    suffix = "am" if hour < 12 else "pm"
    shown = hour % 12 or 12
    return f"{shown}{suffix}" if minute == 0 else f"{shown}:{minute:02d}{suffix}"


def time_of(date: PlanDate) -> str:
    """The time a date names, GOV.UK style: '5pm'; '' when it names only a day or less."""
    if date.hour is None or date.minute is None:
        return ""
    return clock(date.hour, date.minute)


def when(date: PlanDate | None) -> str:
    """A date as the notice says it: '14 March 2027', 'around March 2027', 'April to June 2027'."""
    if date is None:
        return "not known yet"
    if date.precision is Precision.YEAR:
        return f"during {date.year}"
    if date.precision is Precision.QUARTER:
        assert date.quarter is not None
        first = MONTHS[3 * date.quarter - 3]
        last = MONTHS[3 * date.quarter - 1]
        return f"{first} to {last} {date.year}"
    assert date.month is not None
    month = MONTHS[date.month - 1]
    if date.precision is Precision.MONTH:
        return f"around {month} {date.year}"
    day = f"{date.day} {month} {date.year}"
    if date.precision is Precision.DAY:
        return day
    assert date.hour is not None and date.minute is not None
    return f"{day} at {clock(date.hour, date.minute)}"


def on(date: PlanDate | None) -> str:
    """`when` with the right little word before it: 'on 14 March 2027', 'around March 2027'."""
    if date is None:
        return "at a date not known yet"
    text = when(date)
    if date.precision in (Precision.DAY, Precision.MINUTE):
        return f"on {text}"
    if date.precision is Precision.QUARTER:
        return f"between {text.replace(' to ', ' and ')}"
    return text


def pounds(value: float) -> str:
    """£400,000; £1.2 million; £1.05 million; £2,500; £99.50."""
    if value >= 1_000_000:
        millions = value / 1_000_000
        shown = f"{millions:.2f}".rstrip("0").rstrip(".")
        return f"£{shown} million"
    if value != int(value):
        return f"£{value:,.2f}"
    return f"£{int(value):,}"


def amount(value: Amount) -> str:
    if isinstance(value, Range):
        return f"about {pounds(value.min)} to {pounds(value.max)}"
    return pounds(value)


def per_award(money: Money | None, noun: str = "grants") -> str:
    """What one organisation can get: 'grants of £500 to £4,000', 'grants of up to £4,000',
    'grants of £4,000 each'; '' when the plan does not say. `noun` is 'awards' where the
    money may not be grants."""
    size = money.per_award if money is not None else None
    if size is None:
        return ""
    if not isinstance(size, GrantSize):
        return f"{noun} of {pounds(size)} each"
    if size.min is None or size.min == 0:
        return f"{noun} of up to {pounds(size.max)}"
    if size.min == size.max:
        return f"{noun} of {pounds(size.max)} each"
    return f"{noun} of {pounds(size.min)} to {pounds(size.max)}"


def money_lines(money: Money | None, noun: str = "grants") -> list[str]:
    """Each way the plan states the money, as short phrases: '£400,000 a year'; what one
    organisation can get comes first, as that is what decides whether to apply."""
    if money is None:
        return []
    lines = [per_award(money, noun)] if money.per_award is not None else []
    if money.per_year is not None:
        lines.append(f"{amount(money.per_year)} a year")
    if money.total is not None:
        lines.append(f"{amount(money.total)} in total")
    if money.min is not None and money.max is not None:
        lines.append(f"about {pounds(money.min)} to {pounds(money.max)} in total")
    return lines


def money(value: Money | None, noun: str = "grants") -> str:
    """All of the money in one phrase: '£400,000 a year (£1.2 million in total)', 'grants
    of up to £4,000 (£60,000 in total)'."""
    lines = money_lines(value, noun)
    if not lines:
        return "not known yet"
    return lines[0] if len(lines) == 1 else f"{lines[0]} ({', '.join(lines[1:])})"


def plural(noun: str) -> str:
    """The regular English plural: 'update' -> 'updates', 'opportunity' -> 'opportunities',
    'day' -> 'days', 'match' -> 'matches'. `count` takes any other ('person', 'people')."""
    if noun.endswith("y") and noun[-2:-1] not in ("", *"aeiou"):
        return f"{noun[:-1]}ies"
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return f"{noun}es"
    return f"{noun}s"


def count(number: int, noun: str, many: str | None = None) -> str:
    """A count in words: '1 opportunity', '36 opportunities', 'no opportunities'; `many` is
    the plural when it is not the regular one."""
    many = many or plural(noun)
    if number == 0:
        return f"no {many}"
    return f"{number} {noun}" if number == 1 else f"{number} {many}"


def agree(number: int, one: str, many: str) -> str:
    """The word that agrees with a count: agree(1, 'runs', 'run') is 'runs', agree(36, ...)
    'run'; for 'there is 1 opportunity', 'there are 36 opportunities'."""
    return one if number == 1 else many


# Letters whose names start with a vowel sound, for abbreviations read letter by letter:
# 'an NHS trust', 'an LGBT group', but 'a CVS'.
VOWEL_LETTERS = frozenset("AEFHILMNORSX")
# Words that start with a vowel letter but a consonant sound ('a user', 'a one-off grant'),
# or with a silent h ('an hour').
CONSONANT_SOUND = re.compile(r"(?i)^(?:one\b|once\b|uni|use|usu|uti|eu|ewe)")
SILENT_H = re.compile(r"(?i)^(?:hour|honest|honour|heir)")


def article(word: str) -> str:
    """'a' or 'an' for the word that follows: 'an event', 'a grant', 'an NHS trust',
    'a user', 'an hour'."""
    match = FIRST_WORD.match(word.strip())
    if match is None:
        return "a"
    first = match.group(0)
    if len(first) > 1 and first.isupper():
        return "an" if first[0] in VOWEL_LETTERS else "a"
    if CONSONANT_SOUND.match(first):
        return "a"
    if SILENT_H.match(first):
        return "an"
    return "an" if first[0].lower() in "aeiou" else "a"


def a(phrase: str) -> str:
    """The phrase with 'a' or 'an' before it: 'an online meeting', 'a grant'."""
    return f"{article(phrase)} {phrase}"


# Nouns that a title may be named by and that need 'a' when they stand alone and are
# singular: 'has awarded a grant to ...', but 'has awarded grants for ...' and 'funding for'.
COUNTABLE = frozenset(
    {"grant", "contract", "programme", "scheme", "fund", "service", "partnership", "alliance"}
)
DETERMINERS = frozenset(
    {"a", "an", "the", "one", "two", "three", "this", "that", "these", "those", "our", "its",
     "their", "each", "every", "some", "any", "no", "more", "new"}
)  # fmt: skip
# Where the noun phrase a title starts with ends: 'grant | to the West Yorkshire ...'.
PHRASE_END = re.compile(r"(?i)\s(?:for|to|in|of|with|through|across|from|at|on|by)\s|,")


def with_article(phrase: str) -> str:
    """A title made to run on in a sentence, with 'a' when its first noun phrase is one
    singular grant, contract, programme...: 'grant to the alliance' -> 'a grant to the
    alliance', 'community anchor grant' -> 'a community anchor grant'; 'grants for ...',
    'funding for ...' and 'the ... grant' stay as they are."""
    words_ = PHRASE_END.split(phrase, maxsplit=1)[0].split()
    if not words_ or words_[0].lower() in DETERMINERS:
        return phrase
    head = words_[-1].lower().strip(".,;:'’")
    return a(phrase) if head in COUNTABLE else phrase


def _length(years: float | None, months: int | None) -> str:
    parts = []
    if years:
        shown = f"{years:g}"
        parts.append(f"{shown} year" + ("" if years == 1 else "s"))
    if months:
        parts.append(count(months, "month"))
    return " and ".join(parts)


def duration(value: Duration | None) -> str:
    """'3 years, with the option to extend by up to 2 years'."""
    if value is None:
        return "not known yet"
    text = _length(value.years, value.months)
    extension = _length(value.extension_years, value.extension_months)
    return f"{text}, with the option to extend by up to {extension}" if extension else text


def and_list(items: Iterable[str], last: str = "and") -> str:
    """'Leeds', 'Leeds and Wakefield', 'Leeds, Kirklees and Wakefield'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def lower_first(text: str, proper: frozenset[str] = frozenset()) -> str:
    """A title made to run on inside a sentence: 'Grants for Leeds' -> 'grants for Leeds',
    but 'NHS help' and 'Leeds help' keep their capitals. `proper` holds words that keep
    their capital ('Leeds') and whole names that do only when the text starts with all of
    them ('Community Action Bradford', not 'Community health champions')."""
    match = FIRST_WORD.match(text)
    if match is None:
        return text
    first = match.group(0)
    if first in proper or first[1:] != first[1:].lower() or len(first) == 1:
        return text
    for name in _names_by_first_word(proper).get(first, ()):
        if text.startswith(name) and not text[len(name) : len(name) + 1].isalnum():
            return text
    return text[:1].lower() + text[1:]


@lru_cache(maxsize=8)
def _names_by_first_word(proper: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """The whole names in `proper` by their first word (worked out once a site)."""
    found: dict[str, list[str]] = {}
    for name in proper:
        match = FIRST_WORD.match(name)
        if " " in name and match is not None:
            found.setdefault(match.group(0), []).append(name)
    return {word: tuple(names) for word, names in found.items()}


def full_stop(text: str) -> str:
    """The text as a sentence: with a full stop at its end unless it ends with one, or a ! or ?."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


FILTERS: dict[str, Callable[..., Any]] = {
    "when": when,
    "time_of": time_of,
    "on": on,
    "pounds": pounds,
    "amount": amount,
    "money": money,
    "per_award": per_award,
    "kind_name": kind_name,
    "duration": duration,
    "and_list": and_list,
    "lower_first": lower_first,
    "full_stop": full_stop,
    "count": count,
    "agree": agree,
    "article": article,
    "a": a,
    "with_article": with_article,
}
