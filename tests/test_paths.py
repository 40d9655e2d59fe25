"""Where introbot keeps its files."""

from __future__ import annotations

from pathlib import Path

import pytest

from introbot import paths


def test_credentials_live_in_the_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTROBOT_CONFIG_DIR", str(tmp_path / "cfg"))
    assert paths.credentials_file() == tmp_path / "cfg" / "credentials.json"
    monkeypatch.delenv("INTROBOT_CONFIG_DIR")
    assert paths.credentials_file().parent.name == "introbot"
