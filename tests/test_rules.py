"""Rule files are validated on load, and every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from introbot.reading.phrases import PhraseSet, normalize
from introbot.rules import RulesError, default_rules_dir, load_phrases


def _rules(tmp_path: Path, content: str) -> Path:
    (tmp_path / "phrases").mkdir()
    (tmp_path / "phrases" / "xx.toml").write_text(content, encoding="utf-8")
    return tmp_path


@pytest.mark.slow
def test_the_shipped_rules_load() -> None:
    phrases = load_phrases(default_rules_dir())
    assert set(phrases.languages) >= {"en", "fr", "de", "es"}
    english = phrases.consent("en")
    assert english.yes and english.no and phrases.attribution
    assert phrases.consent("de").yes.find("super") and not english.yes.find("super")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('language = "xx"\n[consent\nyes = []', "not valid TOML"),
        ('language = "xx"\n[consent]\nyess = ["y"]', "consent.yess"),
        ('language = "xx"\n[consent]\nyes = "y"', "consent.yes"),
        ('[consent]\nyes = ["y"]', "language"),
        (
            'language = "xx"\n[quotes]\nattribution = ["(unclosed"]',
            "not a valid regular expression",
        ),
    ],
)
def test_mistakes_name_the_file_and_the_key(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(RulesError) as info:
        load_phrases(_rules(tmp_path, content))
    assert "xx.toml" in str(info.value)
    assert message in str(info.value)


def test_an_empty_rules_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="no phrase files"):
        load_phrases(tmp_path)


def test_phrase_matching_rules() -> None:
    phrases = PhraseSet(["no", "happy  to", "*n't", "n'*"])
    text = normalize("No, I’m HAPPY\nto. Wouldn't n'hésitez non-profit")
    found = [hit.phrase for hit in phrases.find(text)]
    assert found == ["no", "happy to", "n't", "n'"]
