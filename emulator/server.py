"""Running the emulator: in this process (`serve`) or as a subprocess for tests and the demo (`running`)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx


def serve(host: str = "127.0.0.1", port: int = 8300, seed: int = 7, size: int = 2000, smtp_port: int | None = 0,
          smtp_host: str = "127.0.0.1") -> None:
    """Serve until interrupted (blocking). The SMTP inbox listens on (smtp_host, smtp_port) in the same event
    loop; 0 picks a free port (GET /_emu/smtp tells which), None runs no SMTP server."""
    import uvicorn

    from .app import create_app

    app = create_app(seed=seed, size=size, smtp_port=smtp_port, smtp_host=smtp_host)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmulatorStartError(RuntimeError):
    pass


@contextlib.contextmanager
def running(seed: int = 7, size: int = 2000, port: int | None = None, timeout: float = 20.0,
            smtp_port: int = 0) -> Iterator[str]:
    """Start `python -m emulator` in a subprocess, wait for /_emu/health, yield its base URL, stop it.

    The subprocess runs the SMTP inbox too (`smtp_port` 0: a free port); `smtp_address(base)` finds it."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # stderr goes to a file, not a pipe: a chatty child could fill a pipe nobody reads and hang.
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", str(port), "--seed", str(seed),
             "--size", str(size), "--smtp-port", str(smtp_port)],
            stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=root,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise EmulatorStartError(f"emulator exited with {proc.returncode}: {_read(err)}")
                try:
                    if httpx.get(f"{base}/_emu/health", timeout=1.0).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise EmulatorStartError(
                        f"emulator did not answer {base}/_emu/health within {timeout}s: {_read(err)}")
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def smtp_address(base: str) -> tuple[str, int]:
    """(host, port) of a running emulator's SMTP inbox, from GET /_emu/smtp."""
    info = httpx.get(f"{base}/_emu/smtp", timeout=5.0).json()
    if not info.get("port"):
        raise EmulatorStartError(f"the emulator at {base} runs no SMTP server")
    return info["host"], int(info["port"])


def _read(fh) -> str:
    fh.seek(0)
    text = fh.read().decode("utf-8", "replace").strip()
    return text[-4000:] or "(no stderr)"
