"""A real browser for the sign-in test: Debian's chromium, headless, driven over the Chrome DevTools
Protocol (websocket-client; no browser-automation framework downloads a browser of its own here).

Run as a program inside the test's network namespace (it starts chromium there, so chromium sees
only loopback):

    python -m tests.browser URL --map HOST --spki HASH --expect TEXT... [--stop-on TEXT] --timeout SECONDS

It opens URL, follows whatever the page does (redirects, sign-in, scripts, websockets) until the
page's text (white space runs made one space) holds TEXT (or a --stop-on text) or the time is up, and prints one JSON object: the final URL, the page's
text, each cookie's name and flags (never a value), and whether TEXT was seen. `--map` resolves
HOST to 127.0.0.1 (chromium's host-resolver rules), as DNS would resolve the stack's host to its
load balancer; `--spki` trusts the one certificate with that public-key hash, nothing else.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

from tests.pod_sandbox import terminate

CHROMIUM_FLAGS = [
    "--headless=new",
    # chromium refuses to run as root with its own sandbox; the test's namespace and a throwaway
    # profile are the sandbox here.
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
]


# What a user reads on the page: its text, and the values its form fields show (a selected option
# of a Streamlit selectbox is shown in one).
PAGE_TEXT = """
document.body ? [document.body.innerText,
                 ...Array.from(document.querySelectorAll('input')).map(i => i.value || i.getAttribute('aria-label') || '')].join('\\n') : ''
"""


class Browser:
    def __init__(self, resolve_host: str, spki_hash: str, profile: Path):
        binary, init = shutil.which("chromium"), shutil.which("tini")
        if binary is None or init is None:
            raise SystemExit("chromium or tini is not installed: install Debian's chromium and tini packages (make test does)")
        self.log = (profile.parent / f"{profile.name}.log").open("w")
        # Under tini as a subreaper (-s) that signals the whole group (-g): chromium's helper
        # processes are reaped when it stops, wherever this runs (a container's PID 1 may reap nothing).
        self.process = subprocess.Popen(
            [
                init,
                "-s",
                "-g",
                "--",
                binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--host-resolver-rules=MAP {resolve_host} 127.0.0.1",
                f"--ignore-certificate-errors-spki-list={spki_hash}",
                "about:blank",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        port = self._devtools_port(profile / "DevToolsActivePort")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            pages = [t for t in json.load(response) if t["type"] == "page"]
        self.socket = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30)
        self.ids = itertools.count(1)

    def _devtools_port(self, file: Path) -> int:
        """chromium writes the port it chose (port 0) to its profile once it listens: no port race."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"chromium exited with {self.process.returncode} before it listened")
            with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
                return int(file.read_text().splitlines()[0])
            time.sleep(0.1)
        raise SystemExit("chromium did not open its DevTools port within 30 s")

    def call(self, method: str, **params) -> dict:
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.socket.close()
        terminate(self.process)
        self.log.close()


def visit(browser: Browser, url: str, expect: list[str], stop_on: list[str], timeout: float) -> dict:
    """Waits until the page shows every text of `expect` (a page such as Streamlit's renders in
    parts), or any of `stop_on`, or the time runs out."""
    browser.call("Page.navigate", url=url)
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        # Words as a reader sees them: runs of white space are one space.
        text = " ".join((browser.evaluate(PAGE_TEXT) or "").split())
        if all(words in text for words in expect) or any(words in text for words in stop_on):
            break
        time.sleep(0.5)
    cookies = browser.call("Network.getAllCookies")["cookies"]
    return {
        "url": browser.evaluate("location.href"),
        "text": text,
        "seen": all(words in text for words in expect),
        "cookies": [{k: c[k] for k in ("name", "domain", "secure", "httpOnly", "sameSite") if k in c} for c in cookies],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.browser")
    parser.add_argument("url")
    parser.add_argument("--map", required=True, help="the host chromium resolves to 127.0.0.1")
    parser.add_argument("--spki", required=True, help="base64 SHA-256 of the one certificate's public key to trust")
    parser.add_argument("--expect", action="append", required=True, help="a text to wait for on the page (repeat: all of them)")
    parser.add_argument("--stop-on", action="append", default=[], help="a text that ends the wait too (a refusal page)")
    parser.add_argument("--timeout", type=float, default=90)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rdagent-browser-") as folder:
        browser = Browser(options.map, options.spki, Path(folder) / "profile")
        try:
            result = visit(browser, options.url, options.expect, options.stop_on, options.timeout)
        finally:
            browser.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
