"""The Chromium the console is tested in, started headless by playwright."""
from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def sign_in(page, url: str, login: str, name: str, center: str = "strogino") -> None:
    """Sign in on the hub's console page as `login` (password "correct horse 42"), until it greets `name`."""
    page.goto(f"{url}/console")
    page.fill("#center", center)
    page.fill("#login", login)
    page.fill("#password", "correct horse 42")
    page.click("#sign-in")
    page.wait_for_selector(f"#who:has-text('{name}')")
