"""Trust boundaries of the hub: what each kind of device may send, whose ticket a console may
rate, who may take over a device id, operators' sign-in and sessions, the data folder's
permissions and the headers of the pages."""
from __future__ import annotations

import ast
import uuid
from pathlib import Path

import pytest
import requests

from mfc_edge import protocol
from tests.helpers.day import TEST_DAY
from tests.helpers.window import START, Center

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def center(tmp_path):
    running = Center(tmp_path / "hub")
    yield running
    running.close()


def enrolled(center: Center, role: str, device_id: str, window: str | None = None) -> dict[str, str]:
    _, token = center.hub.identity.enroll(center.hub.identity.create_code("strogino", role, window=window), device_id)
    return {"Authorization": f"Bearer {token}"}


def send(center: Center, auth: dict[str, str], events: list[dict]) -> list[dict]:
    reply = requests.post(f"{center.url}/api/v1/events", json={"events": events}, headers=auth, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()["results"]


def ticket_issued(device: str) -> dict:
    body = {"ticket": uuid.uuid4().hex, "number": "П777", "service": "passport-rf", "day": TEST_DAY.isoformat(),
            "priority": True, "issued_at": START.isoformat(), "status_token": uuid.uuid4().hex}
    return protocol.make_event(protocol.TICKET_ISSUED, "strogino", device, START, body)


def help_requested(device: str) -> dict:
    return protocol.make_event(protocol.HELP_REQUESTED, "strogino", device, START,
                               {"request": uuid.uuid4().hex, "point": "Вход"})


def button_stuck(device: str) -> dict:
    return protocol.make_event(protocol.BUTTON_STUCK, "strogino", device, START, {"button": "rating-3", "pin": 13})


def slide_played(device: str) -> dict:
    return protocol.make_event(protocol.SLIDE_PLAYED, "strogino", device, START, {
        "item": 0, "kind": "image", "asset": "a.png", "bundle": None, "started_at": START.isoformat(),
        "duration_s": 8})


# --- 4. each role sends only its own events -------------------------------------------------

def test_each_role_may_send_only_its_own_events(center):
    screen = enrolled(center, "signage", "screen-1")
    desk = enrolled(center, "console", "console-7", window="7")
    kiosk = enrolled(center, "kiosk", "kiosk-1")

    # A screen's token cannot put a ticket into the live line, nor raise a help request; the rest
    # of its batch is stored.
    results = send(center, screen, [slide_played("screen-1"), ticket_issued("screen-1"), help_requested("screen-1")])
    assert [r["status"] for r in results] == ["stored", "rejected", "rejected"]
    assert results[1]["reason"] == ("a signage device does not send ticket.issued events "
                                    "(only kiosk devices do)")
    assert "help.requested" in results[2]["reason"] and "only console devices" in results[2]["reason"]
    # Nor can a window's console issue a ticket.
    [console_ticket] = send(center, desk, [ticket_issued("console-7")])
    assert console_ticket["status"] == "rejected" and "console device does not send ticket.issued" in \
        console_ticket["reason"]
    # A kiosk reports no stuck buttons and no help requests; its tickets are taken.
    results = send(center, kiosk, [button_stuck("kiosk-1"), help_requested("kiosk-1"), ticket_issued("kiosk-1")])
    assert [r["status"] for r in results] == ["rejected", "rejected", "stored"]

    issued = list(center.hub.db.db.query("SELECT device FROM tickets WHERE number = 'П777'"))
    assert issued == [{"device": "kiosk-1"}]  # the kiosk's only
    assert center.hub.help.pending("strogino") == []
    assert all("button rating-3" not in d["parts"] for d in center.hub.device_health.devices("strogino"))
    # A window device at the entrance (a console without a window) still calls for help.
    entrance = enrolled(center, "console", "entrance-1")
    assert send(center, entrance, [help_requested("entrance-1")])[0]["status"] == "stored"
    assert len(center.hub.help.pending("strogino")) == 1


def _event_constants(where: Path) -> set[str]:
    """The event types the modules at `where` (a folder or a file) name as protocol.X."""
    names = {name for name in dir(protocol) if isinstance(getattr(protocol, name), str)
             and getattr(protocol, name) in protocol.EVENT_TYPES}
    found = set()
    for path in [where] if where.is_file() else where.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in names and \
                    isinstance(node.value, ast.Name) and node.value.id == "protocol":
                found.add(getattr(protocol, node.attr))
    return found


def test_the_role_table_is_what_each_device_sends():
    bundles = _event_constants(REPO / "offline_cache" / "bundle_sync.py")  # on kiosks and screens
    assert bundles == {protocol.BUNDLE_APPLIED, protocol.BUNDLE_REFUSED}
    every_device = _event_constants(REPO / "offline_cache") - bundles
    sent = {"kiosk": _event_constants(REPO / "kiosk") | bundles | every_device,
            "signage": _event_constants(REPO / "signage") | bundles | every_device,
            "console": _event_constants(REPO / "window_device") | every_device}
    assert {role: set(kinds) for role, kinds in protocol.EVENTS_BY_ROLE.items()} == sent
    assert set().union(*protocol.EVENTS_BY_ROLE.values()) == protocol.EVENT_TYPES


# --- 5. a rating comes from the window that served the ticket --------------------------------

def operator(center: Center) -> requests.Session:
    from tests.helpers.window import PASSWORD

    session = requests.Session()
    assert session.post(f"{center.url}/console/api/sign-in", timeout=10, json={
        "center": "strogino", "login": "ivanova", "password": PASSWORD}).status_code == 200
    return session


def rating(device: str, window: str, ticket: str | None, score: int) -> dict:
    return protocol.make_event(protocol.RATING_GIVEN, "strogino", device, START, {
        "window": window, "ticket": ticket, "score": score, "scale": 5, "day": TEST_DAY.isoformat()})


def test_a_console_cannot_rate_the_visitor_of_another_window(center):
    ivanova = operator(center)
    assert ivanova.post(f"{center.url}/console/api/open-window", json={"window": "5", "services": ["passport-rf"]},
                        timeout=10).status_code == 200
    assert ivanova.post(f"{center.url}/console/api/call-next", json={"window": "5"}, timeout=10).status_code == 200
    own = {"Authorization": f"Bearer {center.token}"}  # window 5's console
    other = enrolled(center, "console", "console-3", window="3")
    # Window 3's console may not read what window 5 served...
    peek = requests.get(f"{center.url}/api/v1/windows/5", headers=other, timeout=10)
    assert peek.status_code == 403 and "belongs to window 3, not 5" in peek.json()["detail"]
    served = requests.get(f"{center.url}/api/v1/windows/5", headers=own, timeout=10).json()["served"]
    assert served["ticket"] == "ticket-0001"
    # ...and a rating of window 5's visitor from window 3 is refused with the reason,
    [stolen] = send(center, other, [rating("console-3", "3", "ticket-0001", 1)])
    assert stolen["status"] == "rejected"
    assert stolen["reason"].startswith("ticket ticket-0001 was not called to window 3")
    # so the visitor's own rating at window 5 counts, for window 5.
    assert send(center, own, [rating("console-5", "5", "ticket-0001", 5)])[0]["status"] == "stored"
    found = center.hub.ratings.for_ticket("strogino", "ticket-0001")
    assert (found["window"], found["score"]) == ("5", 5)
    assert center.hub.ratings.today("strogino")["windows"] == {"5": {"count": 1, "happy": 1, "happy_share": 1.0}}
    # A second rating of the same ticket is refused with the reason too, not dropped in silence;
    # the first one sent again is a duplicate, as before.
    first = center.hub.db.db.execute("SELECT event FROM ratings").fetchone()[0]
    again = send(center, own, [rating("console-5", "5", "ticket-0001", 2)])
    assert again[0]["status"] == "rejected" and again[0]["reason"] == f"ticket ticket-0001 is already rated (event {first})"
    assert center.hub.ratings.for_ticket("strogino", "ticket-0001")["score"] == 5


# --- 6. an enrolled device id is taken over only by a code made to replace it ------------------

def enroll_with(center: Center, code: str, device_id: str) -> requests.Response:
    return requests.post(f"{center.url}/api/v1/enroll", json={"code": code, "device_id": device_id}, timeout=10)


def test_a_code_takes_over_an_enrolled_device_only_when_made_to_replace_it(center, capsys, caplog):
    from mfc_edge.cli import main as cli

    real = {"Authorization": f"Bearer {center.token}"}  # console-5's
    window = f"{center.url}/api/v1/windows/5"
    for role, extra in (("console", {"window": "5"}), ("kiosk", {})):
        code = center.hub.identity.create_code("strogino", role, **extra)
        refused = enroll_with(center, code, "console-5")
        assert refused.status_code == 403
        assert refused.json()["detail"] == (
            f"device console-5 is already enrolled in center strogino: give a new device an id of its own, or to "
            f"replace that one make a code with `mfc-edge hub enroll-code --center strogino --role {role}"
            f"{' --window 5' if role == 'console' else ''} --replace console-5`")
        assert requests.get(window, headers=real, timeout=10).status_code == 200  # the real device works on
    assert enroll_with(center, code, "kiosk-2").status_code == 200  # the refused code was not used up

    data = str(center.hub.db.path.parent)
    assert cli(["hub", "enroll-code", "--data", data, "--center", "strogino", "--role", "console", "--window", "5",
                "--replace", "console-9"]) == 2
    assert "center strogino has no device console-9 to replace" in capsys.readouterr().err
    assert cli(["hub", "enroll-code", "--data", data, "--center", "strogino", "--role", "console",
                "--replace", "../console-5"]) == 2
    assert "--replace '../console-5': expected" in capsys.readouterr().err
    assert cli(["hub", "enroll-code", "--data", data, "--center", "strogino", "--role", "kiosk",
                "--replace", "console-5"]) == 2
    assert "device console-5 is a console: a code to replace it is for a console" in capsys.readouterr().err
    assert cli(["hub", "enroll-code", "--data", data, "--center", "strogino", "--role", "console", "--window", "5",
                "--replace", "console-5"]) == 0
    out = capsys.readouterr()
    replacing = out.out.strip()
    assert "to replace device console-5 (its token stops working when the code is used)" in out.err
    wrong_id = enroll_with(center, replacing, "console-6")
    assert wrong_id.status_code == 403
    assert wrong_id.json()["detail"] == "this code was made to replace device console-5, not console-6"
    with caplog.at_level("WARNING", logger="hub.identity"):
        taken = enroll_with(center, replacing, "console-5")
    assert taken.status_code == 200
    assert "device strogino/console-5 enrolled again with a code made to replace it" in caplog.text
    assert requests.get(window, headers=real, timeout=10).status_code == 401
    assert requests.get(window, headers={"Authorization": f"Bearer {taken.json()['token']}"}, timeout=10).ok
    recorded = list(center.hub.db.db.query("SELECT replaces, device, used_at FROM enrollment_codes "
                                           "WHERE replaces IS NOT NULL"))
    assert [(r["replaces"], r["device"], bool(r["used_at"])) for r in recorded] == [("console-5", "console-5", True)]


# --- 8. a new password ends the sessions; operators can be disabled ------------------------------

def test_a_new_password_ends_the_sessions_and_a_disabled_operator_is_out(center, capsys):
    from mfc_edge.cli import main as cli
    from tests.helpers.window import PASSWORD

    def add_operator(password: str, monkeypatch_stdin) -> int:
        import io

        monkeypatch_stdin.setattr("sys.stdin", io.StringIO(password + "\n"))
        return cli(["hub", "add-operator", "--data", data, "--center", "strogino", "--login", "ivanova",
                    "--name", "Иванова Мария"])

    data = str(center.hub.db.path.parent)
    state = f"{center.url}/console/api/state"
    with pytest.MonkeyPatch.context() as mp:
        first = operator(center)
        assert add_operator(PASSWORD, mp) == 0  # the same password again: nobody is signed out
        assert first.get(state, timeout=10).status_code == 200
        assert add_operator("a new password 7", mp) == 0
        assert first.get(state, timeout=10).status_code == 401
        second = requests.Session()
        assert second.post(f"{center.url}/console/api/sign-in", timeout=10, json={
            "center": "strogino", "login": "ivanova", "password": "a new password 7"}).status_code == 200
        assert second.get(state, timeout=10).status_code == 200

        assert cli(["hub", "disable-operator", "--data", data, "--center", "strogino", "--login", "ivanova"]) == 0
        assert "ivanova of center strogino is disabled and signed out of 1 session(s)" in capsys.readouterr().out
        assert second.get(state, timeout=10).status_code == 401
        refused = sign_in(center, "a new password 7")
        assert refused.status_code == 401 and "disabled" in refused.json()["detail"]
        assert sign_in(center, "a wrong password").json()["detail"] == "wrong center, login or password"
        assert cli(["hub", "disable-operator", "--data", data, "--center", "strogino", "--login", "petrov"]) == 1
        assert "center strogino has no operator petrov" in capsys.readouterr().err

        assert add_operator("another password 9", mp) == 0  # enabled again, with a new password
        assert sign_in(center, "another password 9").status_code == 200


# --- 7. sign-in is throttled, and hashing bounded ------------------------------------------------

class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sign_in(center: Center, password: str, login: str = "ivanova") -> requests.Response:
    return requests.post(f"{center.url}/console/api/sign-in", timeout=30,
                         json={"center": "strogino", "login": login, "password": password})


def test_failed_sign_ins_lock_the_login_out_for_a_while(center, caplog):
    from tests.helpers.window import PASSWORD

    ticks = center.hub.operators.throttle.clock = FakeMonotonic()
    with caplog.at_level("WARNING", logger="hub.operators"):
        replies = [sign_in(center, f"guess {n:04d}") for n in range(20)]
        assert [r.status_code for r in replies[:5]] == [401] * 5
        assert {r.status_code for r in replies[5:]} == {429}
        # Locked: even the right password is refused, without being looked at, until the lockout passes.
        locked = sign_in(center, PASSWORD)
        assert locked.status_code == 429 and locked.json()["detail"] == \
            "too many failed sign-ins from this login: try again in 30 s"
        assert locked.headers["Retry-After"] == "30"
    assert [r.getMessage() for r in caplog.records] == [
        "sign-in locked for 30 s: 5 failed attempts for strogino/ivanova (the last for strogino/ivanova from 127.0.0.1)"]
    ticks.now += 31
    assert sign_in(center, PASSWORD).status_code == 200
    # The right password cleared the login's failures: one more slip is not a lockout.
    assert sign_in(center, "one more slip").status_code == 401
    assert sign_in(center, PASSWORD).status_code == 200
    # Each failure after the lockout doubles it.
    for _ in range(5):
        sign_in(center, "wrong again")
    ticks.now += 31
    assert sign_in(center, "wrong once more").status_code == 401
    assert sign_in(center, PASSWORD).json()["detail"] == "too many failed sign-ins from this login: try again in 60 s"


def test_failed_sign_ins_lock_an_address_out_whatever_the_logins(center):
    from tests.helpers.window import PASSWORD

    center.hub.operators.throttle.clock = FakeMonotonic()
    assert {sign_in(center, "guess", login=f"user-{n}").status_code for n in range(20)} == {401}
    refused = sign_in(center, PASSWORD)
    assert refused.status_code == 429 and "from this address" in refused.json()["detail"]


class CountingHasher:
    """Stands in for Argon2: slow, and counts how many hash at once."""

    def __init__(self) -> None:
        import threading

        self.lock, self.running, self.most = threading.Lock(), 0, 0

    def _work(self) -> None:
        import time

        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.3)
        with self.lock:
            self.running -= 1

    def hash(self, password: str) -> str:
        self._work()
        return "hashed"

    def verify(self, hashed: str, password: str) -> bool:
        from argon2.exceptions import VerifyMismatchError

        self._work()
        raise VerifyMismatchError


def test_at_most_two_passwords_are_hashed_at_once(center, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import hub.operators

    hasher = CountingHasher()
    monkeypatch.setattr(hub.operators, "_hasher", hasher)
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda n: sign_in(center, "guess", login=f"user-{n}").status_code, range(16)))
    assert hasher.most == hub.operators.HASHING_SLOTS == 2
    # Two hash and up to eight wait their turn; the others are told at once to come back.
    assert set(codes) <= {401, 503} and codes.count(503) <= 6


@pytest.mark.slow
def test_sixteen_sign_ins_at_once_keep_the_hubs_memory_bounded(tmp_path):
    """Measured on a real hub process: each Argon2 hash takes 64 MiB while it runs."""
    import subprocess
    import sys
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import psutil

    from tests.helpers.hubprocess import HubProcess

    with HubProcess(tmp_path / "hub") as running:
        subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "add-operator", "--data", str(running.data_dir),
                        "--center", "strogino", "--login", "ivanova", "--name", "Иванова"],
                       input="correct horse 42\n", text=True, check=True, capture_output=True)
        process = psutil.Process(running.proc.pid)
        requests.post(f"{running.url}/console/api/sign-in", timeout=30,
                      json={"center": "strogino", "login": "ivanova", "password": "correct horse 42"})
        before, peak, done = process.memory_info().rss, 0, threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, process.memory_info().rss)
                done.wait(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda n: requests.post(f"{running.url}/console/api/sign-in", timeout=60, json={
                "center": "strogino", "login": f"user-{n}", "password": "guess"}).status_code, range(16)))
        done.set()
        sampler.join()
    assert peak - before < 200 * 2 ** 20, f"{(peak - before) / 2 ** 20:.0f} MiB more while signing in"


# --- 9. the data folder is private -------------------------------------------------------------------

def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture
def usual_umask():
    import os

    old = os.umask(0o022)  # what a service gets unless told otherwise: files 0644, folders 0755
    yield
    os.umask(old)


def test_the_hubs_data_folder_and_files_are_private(tmp_path, usual_umask):
    from hub.api import Hub
    from tests.helpers.screenshots import make_png

    folder = tmp_path / "var" / "hub"
    hub = Hub(folder)
    try:
        hub.operators.add("strogino", "ivanova", "Иванова Мария", "correct horse 42")
        hub.bundles.public_key()  # makes the signing key
        hub.identity.enroll(hub.identity.create_code("strogino", "signage"), "screen-1")
        hub.screens.store("strogino", "screen-1", make_png(32, 18))
        files = {p.relative_to(folder).as_posix(): mode(p) for p in folder.rglob("*")}
    finally:
        hub.close()
    assert mode(folder) == 0o700
    assert {"hub.sqlite", "hub.sqlite-wal", "hub.sqlite-shm", "bundle-signing.key", "blobs", "screenshots",
            "screenshots/center-strogino", "screenshots/center-strogino/screen-1.png"} <= set(files)
    opened = {name: found for name, found in files.items() if found & 0o077}
    assert opened == {}, "open to others: " + ", ".join(f"{n} {m:o}" for n, m in opened.items())


def test_a_data_folder_made_open_is_made_private(tmp_path, usual_umask, caplog):
    from hub.api import Hub

    folder = tmp_path / "hub"
    Hub(folder).close()
    for path, opened in ((folder, 0o755), (folder / "hub.sqlite", 0o644)):
        path.chmod(opened)
    (folder / "hub.sqlite-wal").touch(mode=0o644)
    with caplog.at_level("WARNING", logger="hub.db"):
        Hub(folder).close()
    assert (mode(folder), mode(folder / "hub.sqlite")) == (0o700, 0o600)
    assert not (folder / "hub.sqlite-wal").exists() or mode(folder / "hub.sqlite-wal") == 0o600
    assert f"{folder} was open to others (mode 755): now 700" in caplog.text


# --- 10. pages: Content-Security-Policy and friends, no scripts from elsewhere --------------------

def test_pages_carry_a_strict_content_security_policy_and_run_only_the_hubs_own_files(center):
    import re

    console = requests.get(f"{center.url}/console", timeout=10)
    phone = requests.get(f"{center.url}/t/token-0001-abcdefghijklmnop", timeout=10)
    missing = requests.get(f"{center.url}/t/no-such-ticket", timeout=10)
    api = requests.get(f"{center.url}/healthz", timeout=10)
    for reply in (console, phone, missing, api):
        policy = reply.headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "style-src 'self';" in policy and "default-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Referrer-Policy"] == "no-referrer"  # a phone page's address holds its token
    for page in (console, phone):
        # Nothing inline for the policy to refuse: scripts and styles are files of the hub.
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text) and "<style" not in page.text
        assert not re.search(r"\sstyle=|\son[a-z]+=", page.text)
        for linked in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
            reply = requests.get(f"{center.url}{linked}", timeout=10)
            assert reply.status_code == 200 and reply.headers["content-type"].startswith(
                "text/javascript" if linked.endswith(".js") else "text/css")
    # the console: its style, its script, the devices' remote hands, the urgent notices, the
    # booked visits and the reports; the phone page: its style and script
    assert len(re.findall(r'="/static/', console.text)) == 6 and len(re.findall(r'="/static/', phone.text)) == 2
    assert requests.get(f"{center.url}/static/..%2Fhub.py", timeout=10).status_code == 404


def test_swagger_ui_is_off_unless_asked_for_and_the_schema_stays(center, tmp_path):
    from hub.api import Hub
    from hub.server import HubThread

    assert requests.get(f"{center.url}/docs", timeout=10).status_code == 404
    assert requests.get(f"{center.url}/redoc", timeout=10).status_code == 404
    schema = requests.get(f"{center.url}/openapi.json", timeout=10)
    assert schema.status_code == 200 and "/api/v1/events" in schema.json()["paths"]
    hub = Hub(tmp_path / "docs-hub")
    try:
        with HubThread(hub, docs=True) as server:  # mfc-edge hub --docs, on a development machine
            docs = requests.get(f"{server.url}/docs", timeout=10)
    finally:
        hub.close()
    assert docs.status_code == 200 and "https://cdn.jsdelivr.net/" in docs.text
    policy = docs.headers["Content-Security-Policy"]
    assert "script-src https://cdn.jsdelivr.net 'sha256-" in policy and "'unsafe-inline'" not in policy.split(";")[1]
