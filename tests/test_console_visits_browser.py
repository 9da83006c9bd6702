"""Every way a visit goes, end to end through the operator console in headless Chromium against a
real hub process: a number called out of order, also one whose kiosk event has not reached the hub
yet (then the late event: one visit), hold and return, transfers to a window and to an operator, a
walk-in with several services finished with an outcome each, and a window's pause."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest
import requests

from hardware.clock import ManualClock
from kiosk.tickets import TicketStore
from offline_cache.hub_client import HubClient
from offline_cache.sync import SyncAgent
from tests.helpers.browser import CHROMIUM, CHROMIUM_ARGS, sign_in
from tests.helpers.day import MSK
from tests.helpers.hubprocess import HubProcess, hub_today

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # headless Chromium against a real hub process

OPERATORS = (("ivanova", "Иванова Мария"), ("petrova", "Петрова Ольга"))


class Center:
    """A hub process with two operators and one enrolled kiosk whose tickets reach the hub only when
    `sync` is called: until then the hub has not received them, as with a kiosk cut off."""

    def __init__(self, hub: HubProcess, store: TicketStore, sync: SyncAgent):
        self.hub, self.store, self.agent = hub, store, sync

    def issue(self, service: str = "passport-rf", letter: str = "П"):
        return self.store.issue_ticket(service_id=service, letter=letter)

    def sync(self) -> None:
        self.agent.drain()

    def rows(self, sql: str, *args: object) -> list[tuple]:
        """What the hub stored, read from its database file beside the running process."""
        with closing(sqlite3.connect(self.hub.data_dir / "hub.sqlite", timeout=10)) as db:
            return db.execute(sql, args).fetchall()


@pytest.fixture
def center(tmp_path):
    with HubProcess(tmp_path / "hub") as hub:
        for login, name in OPERATORS:
            added = subprocess.run([sys.executable, "-m", "mfc_edge.cli", "hub", "add-operator", "--data",
                                    str(hub.data_dir), "--center", "strogino", "--login", login, "--name", name],
                                   input="correct horse 42\n", capture_output=True, text=True)
            assert added.returncode == 0, added.stderr
        token = requests.post(f"{hub.url}/api/v1/enroll", json={"code": hub.enroll_code(), "device_id": "kiosk-1"},
                              timeout=10).json()["token"]
        store = TicketStore(tmp_path / "kiosk.sqlite", center_id="strogino", device_id="kiosk-1", timezone=MSK,
                            ticket_range=(1, 499), clock=ManualClock(hub_today()))
        yield Center(hub, store, SyncAgent(store, HubClient(hub.url, token)))
        store.close()


@pytest.fixture
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def window_console(browser, center: Center, operator: int, window: str, services: tuple[str, ...]):
    """A console page signed in as OPERATORS[operator], with `window` open for `services`."""
    login, name = OPERATORS[operator]
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    sign_in(page, center.hub.url, login, name)
    page.fill("#window", window)
    for service in services:
        page.check(f"#services input[value='{service}']")
    page.click("#open-window")
    page.wait_for_selector("#call-next:enabled")
    return page


def called(page, number: str) -> None:
    page.wait_for_selector(f"#current:text-is('{number}')")


def test_a_number_called_before_and_after_its_kiosk_event_is_one_visit(center, browser):
    first, second = center.issue(), center.issue()
    center.sync()
    unsent = center.issue()  # printed at the kiosk, its event not at the hub yet
    page = window_console(browser, center, 0, "5", ("passport-rf",))

    page.fill("#call-number", second.number.lower())  # typed as it comes: the console reads it in capitals
    page.keyboard.press("Enter")
    called(page, second.number)  # out of order: the first ticket still waits
    assert page.inner_text("#current-note") == ""
    page.click("#finish")
    called(page, "—")

    page.fill("#call-number", "Я999")  # a letter the catalog does not use, and no service chosen
    page.click("#call-number-go")
    page.wait_for_selector("#message:not(:empty)")
    assert page.inner_text("#current") == "—"

    page.fill("#call-number", unsent.number)
    page.select_option("#call-number-service", "passport-rf")
    page.click("#call-number-go")
    called(page, unsent.number)
    page.wait_for_selector("#current-note:has-text('Талон ещё не поступил от киоска')")
    assert center.rows("SELECT awaiting_event FROM tickets WHERE printed_number = ?", unsent.number) == [(1,)]

    center.sync()  # the kiosk's late ticket.issued event completes the ticket the window called
    page.wait_for_selector("#current-note:empty")
    called(page, unsent.number)
    page.click("#start")
    page.click("#finish")
    called(page, "—")
    rows = center.rows("SELECT id, state, awaiting_event, status_token, operator FROM tickets WHERE printed_number = ?",
                       unsent.number)
    assert rows == [(unsent.id, "done", 0, unsent.status_token, "ivanova")]
    history = [s for (s,) in center.rows("SELECT state FROM ticket_history WHERE ticket = ? ORDER BY id", unsent.id)]
    assert history.count("called") == 1 and history[-1] == "done", history
    assert center.rows("SELECT state FROM tickets WHERE id = ?", first.id) == [("waiting",)]


def test_hold_serve_another_then_return_to_the_same_window(center, browser):
    first, second = center.issue(), center.issue()
    center.sync()
    page = window_console(browser, center, 0, "5", ("passport-rf",))
    page.click("#call-next")
    called(page, first.number)
    page.fill("#hold-reason", "оплата госпошлины")
    page.click("#hold")
    called(page, "—")
    held = f"#held tr:has-text('{first.number}')"
    page.wait_for_selector(f"{held}:has-text('оплата госпошлины')")
    assert page.is_disabled(f"{held} button") is False

    page.click("#call-next")  # the held visitor is in no line: the next one comes
    called(page, second.number)
    assert page.is_disabled(f"{held} button")  # one visitor at a time at the window
    page.click("#finish")
    called(page, "—")
    page.click(f"{held} button:has-text('Вернуть')")
    called(page, first.number)
    page.wait_for_selector("#held td.none")
    page.click("#finish")
    called(page, "—")

    assert center.rows("SELECT state, window FROM tickets WHERE id = ?", first.id) == [("done", "5")]
    assert center.rows("SELECT detail FROM ticket_history WHERE ticket = ? AND state = 'held'", first.id) == [
        ("оплата госпошлины",)]
    assert center.rows("SELECT count(*) FROM calls WHERE ticket = ?", first.id) == [(2,)]  # the hall calls them again


def test_transfer_to_a_window_then_to_an_operator(center, browser):
    ticket = center.issue()
    center.sync()
    ivanova = window_console(browser, center, 0, "5", ("passport-rf",))
    petrova = window_console(browser, center, 1, "6", ("adult-snils",))  # not a passport window
    ivanova.click("#call-next")
    called(ivanova, ticket.number)

    ivanova.select_option("#transfer-kind", "window")
    ivanova.wait_for_selector("#transfer-window option[value='6']", state="attached")
    ivanova.select_option("#transfer-window", "6")
    ivanova.click("#transfer")
    called(ivanova, "—")
    petrova.click("#call-next")  # sent to window 6: called there ahead of its own lines
    called(petrova, ticket.number)

    petrova.select_option("#transfer-kind", "operator")
    petrova.select_option("#transfer-operator", "ivanova")
    petrova.click("#transfer")
    called(petrova, "—")
    petrova.click("#call-next")
    petrova.wait_for_selector("#message:has-text('Никто не ждёт')")  # for Иванова only
    ivanova.click("#call-next")
    called(ivanova, ticket.number)
    ivanova.click("#finish")
    called(ivanova, "—")

    details = center.rows("SELECT detail, operator FROM ticket_history WHERE ticket = ? AND state = 'transferred' "
                          "ORDER BY id", ticket.id)
    assert details == [("window 6", "ivanova"), ("operator ivanova", "petrova")]
    assert center.rows("SELECT state, operator FROM tickets WHERE id = ?", ticket.id) == [("done", "ivanova")]


def test_a_walk_in_with_two_services_finished_with_an_outcome_each(center, browser):
    waiting = center.issue()
    center.sync()
    page = window_console(browser, center, 0, "5", ("passport-rf",))
    page.select_option("#walk-in-service", "passport-rf")
    page.click("#walk-in")
    page.wait_for_selector("#current-info:has-text('без талона')")
    number = page.inner_text("#current")
    assert number not in ("—", waiting.number)

    page.select_option("#add-service-to", "adult-snils")
    page.click("#add-service")
    page.wait_for_selector("#visit-services select[name='adult-snils']")
    assert page.eval_on_selector_all("#visit-services select", "s => s.map(x => x.name)") == [
        "passport-rf", "adult-snils"]
    page.select_option("#visit-services select[name='adult-snils']", "documents_missing")
    for _ in range(2):  # the console's polls of its state in between keep the choice
        with page.expect_response(lambda response: "/console/api/state" in response.url):
            pass
    assert page.eval_on_selector("#visit-services select[name='adult-snils']", "s => s.value") == "documents_missing"
    page.click("#finish")
    called(page, "—")

    (ticket, walk_in, state, issued, called_at), = center.rows(
        "SELECT id, walk_in, state, issued_at, called_at FROM tickets WHERE number = ? AND walk_in = 1", number)
    assert (walk_in, state) == (1, "done") and issued == called_at  # served at once: no wait
    assert sorted(center.rows("SELECT service, outcome, window, operator FROM visit_services WHERE ticket = ?",
                              ticket)) == [("adult-snils", "documents_missing", "5", "ivanova"),
                                           ("passport-rf", "done", "5", "ivanova")]
    assert center.rows("SELECT count(*) FROM calls WHERE ticket = ?", ticket) == [(0,)]  # never on the hall's screens


def test_pause_with_a_reason_resume_and_call_next_ending_a_pause(center, browser):
    ticket = center.issue()
    center.sync()
    page = window_console(browser, center, 0, "5", ("passport-rf",))
    page.select_option("#pause-reason", "break")
    page.click("#pause")
    page.wait_for_selector("#paused:visible:has-text('Перерыв')")
    assert page.is_hidden("#pause-box")
    assert center.rows("SELECT reason, ended_at FROM window_pauses WHERE window = '5'") == [("break", None)]
    page.click("#resume")
    page.wait_for_selector("#paused", state="hidden")

    page.select_option("#pause-reason", "technical")
    page.click("#pause")
    page.wait_for_selector("#paused:visible:has-text('Технический сбой')")
    page.click("#call-next")  # calling ends the pause first
    called(page, ticket.number)
    page.wait_for_selector("#paused", state="hidden")
    pauses = center.rows("SELECT reason, ended_at IS NOT NULL FROM window_pauses WHERE window = '5' ORDER BY id")
    assert pauses == [("break", 1), ("technical", 1)]
    assert center.rows("SELECT paused_since FROM windows WHERE window = '5'") == [(None,)]
