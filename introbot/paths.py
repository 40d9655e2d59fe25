"""Where introbot keeps its files: one config folder per user, following the platform's
conventions (``~/.config/introbot`` on Linux, ``~/Library/Application Support/introbot`` on
macOS, ``%APPDATA%\\introbot`` on Windows). ``INTROBOT_CONFIG_DIR`` overrides it."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "introbot"


def config_dir() -> Path:
    override = os.environ.get("INTROBOT_CONFIG_DIR")
    return Path(override).expanduser() if override else platformdirs.user_config_path(APP)


def credentials_file() -> Path:
    """The OAuth client file downloaded from Google Cloud Console (a Desktop app client)."""
    return config_dir() / "credentials.json"
