"""Where introbot keeps its files: one config folder per user, following the platform's
conventions (``~/.config/introbot`` on Linux, ``~/Library/Application Support/introbot`` on
macOS, ``%APPDATA%\\introbot`` on Windows). ``INTROBOT_CONFIG_DIR`` overrides it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import platformdirs

APP = "introbot"


def config_dir() -> Path:
    override = os.environ.get("INTROBOT_CONFIG_DIR")
    return Path(override).expanduser() if override else platformdirs.user_config_path(APP)


def credentials_file() -> Path:
    """The OAuth client file downloaded from Google Cloud Console (a Desktop app client)."""
    return config_dir() / "credentials.json"


def readable_by_others(path: Path, posix: bool = os.name == "posix") -> int | None:
    """The file's mode when people other than its owner may read or write it (it should be
    0600), else None. On Windows a mode is no permission (chmod only sets read-only): the
    files are in the user's own profile folder, whose access list keeps others out, so None."""
    if not posix:
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    return mode if mode & 0o077 else None
