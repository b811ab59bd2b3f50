"""The system Chromium: found, or installed from Debian's packages when we are root. Never downloaded."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

INSTALL_COMMAND = "apt-get install -y chromium"


class BrowserMissing(RuntimeError):
    pass


def ensure_chromium(path: str = "/usr/bin/chromium", *, install: bool = True) -> str:
    """Return the path of a runnable Chromium, installing Debian's package first when allowed and root."""
    if Path(path).exists():
        return path
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if install and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        done = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False)
        if done.returncode == 0 and Path(path).exists():
            return path
    raise BrowserMissing(
        f"Chromium was not found at {path}. Install the system browser with: sudo {INSTALL_COMMAND} "
        "(takedown never downloads a browser of its own), or set TAKEDOWN_CHROMIUM_PATH."
    )
