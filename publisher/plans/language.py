"""Plain-English checks on what the public reads: long sentences and unexplained jargon."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from publisher.plans.errors import FieldPath
from publisher.plans.model import Opportunity
from publisher.plans.reference import Glossary, GlossaryTerm
from publisher.plans.validate import Finding, warning

MAX_SENTENCE_WORDS = 25
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9£])")
_WORD = re.compile(r"[A-Za-z0-9£][\w'’£%.,-]*")
# Words after a jargon term that show the writer is explaining it.
_EXPLAINED_AFTER = re.compile(
    r"^\s*(?:\(|[-–—:]\s|,\s*(?:which|that|where|meaning|or)\b|\s+(?:means|is|are)\b)"
)
_EXPLAINED_BEFORE = re.compile(r"\(\s*$")


def sentences(text: str) -> list[str]:
    """The sentences of a paragraph, near enough for counting words."""
    return [part.strip() for part in _SENTENCE_END.split(" ".join(text.split())) if part.strip()]


def word_count(sentence: str) -> int:
    return len(_WORD.findall(sentence))


def _opening_words(sentence: str, count: int = 6) -> str:
    return " ".join(sentence.split()[:count])


@dataclass(frozen=True)
class JargonIndex:
    """Finds the glossary's jargon in text: phrases in any case, abbreviations as written."""

    phrases: re.Pattern[str] | None
    abbreviations: re.Pattern[str] | None
    terms: dict[str, GlossaryTerm]  # phrases in lower case, abbreviations as written

    @classmethod
    def build(cls, glossary: Glossary) -> JargonIndex:
        phrases: dict[str, GlossaryTerm] = {}
        abbreviations: dict[str, GlossaryTerm] = {}
        for term in glossary.terms:
            if not term.jargon:
                continue
            # A heading with a qualifier, like "Place (in health and care)", is matched only
            # through its `also` wordings: the bare word is everyday English.
            wordings = [*term.also] if "(" in term.term else [term.term, *term.also]
            for phrase in wordings:
                phrases.setdefault(_normal(phrase), term)
            for abbreviation in term.abbreviations:
                abbreviations.setdefault(abbreviation, term)
        terms = {**phrases, **abbreviations}
        return cls(_alternation(phrases), _alternation(abbreviations), terms)

    def find(self, text: str) -> list[tuple[re.Match[str], GlossaryTerm]]:
        found: list[tuple[re.Match[str], GlossaryTerm]] = []
        if self.phrases is not None:
            lower = text.lower()
            if len(lower) == len(text):  # positions still line up
                matches = self.phrases.finditer(lower)
            else:
                matches = re.compile(self.phrases.pattern, re.IGNORECASE).finditer(text)
            found += [(m, self.terms[_normal(m.group(0))]) for m in matches]
        if self.abbreviations is not None:
            found += [(m, self.terms[m.group(0)]) for m in self.abbreviations.finditer(text)]
        return sorted(found, key=lambda pair: pair[0].start())


def _normal(phrase: str) -> str:
    return " ".join(phrase.lower().split())


def _alternation(words: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for many words, as a trie: far faster than a plain alternation."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    if not trie:
        return None

    def pattern(node: dict[str, Any]) -> str:
        branches = [
            (r"\s+" if char == " " else re.escape(char)) + pattern(child)
            for char, child in sorted(node.items())
            if char
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return re.compile(rf"(?<![\w-])(?:{pattern(trie)})(?![\w-])")


def _explained(text: str, match: re.Match[str]) -> bool:
    return bool(_EXPLAINED_AFTER.match(text[match.end() :])) or bool(
        _EXPLAINED_BEFORE.search(text[: match.start()])
    )


def check_text(text: str, path: FieldPath) -> list[Finding]:
    """Sentences over the plain-English limit in one field."""
    out: list[Finding] = []
    for sentence in sentences(text):
        words = word_count(sentence)
        if words > MAX_SENTENCE_WORDS:
            out.append(
                warning(
                    path,
                    "long-sentence",
                    f"This sentence has {words} words; plain English keeps "
                    f"sentences to {MAX_SENTENCE_WORDS} or fewer.",
                    f"Split the sentence that starts '{_opening_words(sentence)}'.",
                    needle=_opening_words(sentence),
                )
            )
    return out


def check_opportunity(
    opportunity: Opportunity, base: FieldPath, jargon: JargonIndex
) -> list[Finding]:
    """Plain-English warnings for an opportunity's title, summary and lots."""
    out = check_text(opportunity.title, (*base, "title"))
    out += check_text(opportunity.summary, (*base, "summary"))
    for index, lot in enumerate(opportunity.lots):
        if lot.summary:
            out += check_text(lot.summary, (*base, "lots", index, "summary"))
    summary_hits = jargon.find(opportunity.summary)
    explained = {
        term.slug for match, term in summary_hits if _explained(opportunity.summary, match)
    }
    reported: set[str] = set()
    hits = [("title", m, t) for m, t in jargon.find(opportunity.title)]
    hits += [("summary", m, t) for m, t in summary_hits]
    for field, match, term in hits:
        if term.slug in explained or term.slug in reported:
            continue
        reported.add(term.slug)
        out.append(
            warning(
                (*base, field),
                "jargon",
                f"'{match.group(0)}' is jargon that many small groups will not "
                "know; explain it where you first use it, or say it plainly.",
                f"Add a few words in brackets after it. The glossary says: "
                f"{_first_sentence(term.means)}",
                needle=match.group(0),
            )
        )
    return out


def _first_sentence(text: str) -> str:
    found = sentences(text)
    return found[0] if found else text
