"""Every way a visit goes, through the console's HTTP routes of a real hub in this process: a
number called before its kiosk's ticket arrived (then the kiosk's event through the events
endpoint), out-of-turn calls, hold and return, transfers to a service, a window or an operator,
several services with their outcomes, pauses, walk-ins; and the keypad's keys on the same code."""
from __future__ import annotations

import pytest
import requests

from mfc_edge import protocol
from mfc_edge.config import ConfigError, load_config
from offline_cache.hub_client import HubClient
from tests.helpers.center import CENTER, AppTransport, InProcessCenter
from tests.helpers.day import at
from tests.helpers.window import write_console_config
from window_device.window_link import LinkError, WindowLink

NINE = at(9)
PASSWORD = "correct horse 42"
URL = "https://hub.test"


class Console(requests.Session):
    """An operator signed in to the console of the center's hub."""

    def __init__(self, center: InProcessCenter, login: str):
        super().__init__()
        self.mount(URL, AppTransport(center.call))
        signed = self.post(f"{URL}/console/api/sign-in", json={"center": CENTER, "login": login, "password": PASSWORD})
        assert signed.status_code == 200
        # The in-process transport has no raw response for requests to take cookies from.
        self.cookies.set("mfc_session", signed.headers["set-cookie"].split(";")[0].split("=", 1)[1])

    def act(self, action: str, **body: object) -> requests.Response:
        return self.post(f"{URL}/console/api/{action}", json=body)

    def ticket(self, action: str, **body: object) -> dict | None:
        reply = self.act(action, **body)
        assert reply.status_code == 200, reply.text
        return reply.json()["ticket"]

    def state(self, window: str) -> dict:
        return self.get(f"{URL}/console/api/state", params={"window": window}).json()


@pytest.fixture
def center(tmp_path):
    found = InProcessCenter(tmp_path, NINE)
    found.hub.operators.add(CENTER, "ivanova", "Иванова Мария", PASSWORD)
    found.hub.operators.add(CENTER, "petrova", "Петрова Анна", PASSWORD)
    yield found
    found.close()


@pytest.fixture
def ivanova(center):
    made = Console(center, "ivanova")
    assert made.act("open-window", window="5", services=["passport-rf"]).status_code == 200
    return made


def issue(center: InProcessCenter, count: int, service: str = "passport-rf") -> list[str]:
    kiosk = center.kiosks[0] if center.kiosks else center.add_kiosk("kiosk-1", (1, 499))
    numbers = []
    for _ in range(count):
        numbers.append(kiosk.issue(service).number)
        center.advance(seconds=30)
    assert kiosk.sync_now()
    return numbers


def history(center: InProcessCenter, number: str) -> list[tuple[str, str, str]]:
    ticket = center.tickets("number = ?", (number,))[0]
    return [(h["state"], h["window"] or "", h["operator"]) for h in center.hub.queue.history(ticket["id"])]


def test_a_number_the_hub_has_not_received_is_called_then_completed_by_the_kiosks_late_event(center, ivanova):
    kiosk = center.add_kiosk("kiosk-1", (1, 499))
    kiosk.transport.down = True  # the kiosk's network is out: its ticket stays in its outbox
    paper = kiosk.issue("passport-rf")
    center.advance(minutes=4)
    assert not kiosk.sync_now()

    # П is the letter of several services: the window's own decides (it serves passport-rf only).
    called = ivanova.ticket("call-number", window="5", number=paper.number.lower())
    assert called == {"number": paper.number, "state": "called", "service": "passport-rf"}
    current = ivanova.state("5")["current"]
    assert current["awaiting_event"] is True and current["walk_in"] is False
    center.advance(minutes=1)
    ivanova.ticket("start", window="5")

    kiosk.transport.down = False
    sent = kiosk.store.outbox()
    assert kiosk.sync_now()
    rows = center.tickets()
    assert len(rows) == 1  # one visit, no duplicate waiting in line
    row = rows[0]
    assert (row["id"], row["number"], row["printed_number"], row["device"]) == (paper.id, paper.number,
                                                                                 paper.number, "kiosk-1")
    assert row["awaiting_event"] == 0 and row["state"] == "serving" and row["operator"] == "ivanova"
    # Issued when the visitor took the paper, 4 minutes before the call, not when it was called.
    assert row["issued_at"] < row["called_at"]
    assert history(center, paper.number) == [("called", "5", "ivanova"), ("serving", "5", "ivanova")]
    assert [c["ticket"] for c in center.hub.db.db.query("SELECT ticket FROM calls")] == [paper.id]
    assert ivanova.state("5")["current"]["awaiting_event"] is False

    # The same event again (a lost reply: the outbox sends it once more) stays one visit.
    device = requests.Session()
    device.mount(URL, AppTransport(center.call))
    again = device.post(f"{URL}{protocol.EVENTS_PATH}", json={"events": sent},
                        headers={"Authorization": f"Bearer {kiosk.token}"})
    assert again.status_code == 200 and {r["status"] for r in again.json()["results"]} == {"duplicate"}
    assert len(center.tickets()) == 1
    assert ivanova.ticket("finish", window="5")["state"] == "done"
    # The visitor's phone page opens with the paper's token.
    status = device.get(f"{URL}/t/{paper.status_token}")
    assert status.status_code == 200 and paper.number in status.text


def test_a_new_numbers_service_comes_from_its_letter_or_is_asked_for(center, ivanova):
    assert ivanova.act("call-number", window="5", number="Ж001").json()["detail"] == (
        "the hub has no ticket Ж001 yet: choose its service to call it")
    assert ivanova.act("call-number", window="5", number="12").status_code == 409
    assert ivanova.act("call-number", window="5", number="Ж001", service="no-such").status_code == 422
    assert ivanova.ticket("call-number", window="5", number="Ж001", service="adult-snils")["service"] == "adult-snils"


def test_a_number_is_called_out_of_turn_and_the_line_goes_on(center, ivanova):
    first, second, third = issue(center, 3)
    assert ivanova.ticket("call-number", window="5", number=third)["number"] == third
    refused = ivanova.act("call-number", window="5", number=first)
    assert refused.status_code == 409 and "finish the current visitor" in refused.json()["detail"]
    ivanova.ticket("finish", window="5")
    assert ivanova.act("call-number", window="5", number=third).json()["detail"] == f"ticket {third} is not waiting: it is done"
    assert ivanova.ticket("call-next", window="5")["number"] == first
    ivanova.ticket("finish", window="5")
    assert ivanova.ticket("call-next", window="5")["number"] == second


def test_a_held_visitor_comes_back_to_the_same_window_after_others_are_served(center, ivanova):
    first, second, _ = issue(center, 3)
    ivanova.ticket("call-next", window="5")
    assert ivanova.ticket("hold", window="5", reason="оплата пошлины")["state"] == "held"
    held = ivanova.state("5")["held"]
    assert [(h["number"], h["reason"]) for h in held] == [(first, "оплата пошлины")]
    assert ivanova.act("hold", window="5", reason="x" * 81).status_code == 422
    token = center.hub.db.db.execute("SELECT status_token FROM tickets WHERE number = ?", [first]).fetchone()[0]
    phone = ivanova.get(f"{URL}/t/{token}/state").json()  # the visitor's phone page
    assert phone["headline"] == "Окно 5 вызовет вас снова" and phone["state"] == "held" and not phone["final"]
    # The window serves others meanwhile; the held visitor is in no line.
    assert ivanova.ticket("call-next", window="5")["number"] == second
    refused = ivanova.act("return", window="5")
    assert refused.status_code == 409 and "finish the current visitor" in refused.json()["detail"]
    ivanova.ticket("finish", window="5")
    center.advance(minutes=5)
    assert ivanova.ticket("return", window="5") == {"number": first, "state": "called", "service": "passport-rf"}
    assert ivanova.state("5")["held"] == []
    assert [(c.number, c.window) for c in center.hub.queue.recent_calls(CENTER)][:3] == [
        (first, "5"), (second, "5"), (first, "5")]  # the return is a call the hall shows
    ivanova.ticket("finish", window="5")
    assert [h[0] for h in history(center, first)] == ["called", "held", "called", "done"]
    assert ivanova.act("return", window="5").json()["detail"] == "nobody is on hold at this window"


def test_return_by_number_and_held_visitors_expire_at_the_end_of_the_day(center, ivanova):
    first, second = issue(center, 2)
    for _ in range(2):
        ivanova.ticket("call-next", window="5")
        ivanova.ticket("hold", window="5")
    assert ivanova.ticket("return", window="5", number=second)["number"] == second
    ivanova.ticket("finish", window="5")
    center.advance(days=1)
    assert center.hub.queue.close_past_days(CENTER) == 1
    assert center.tickets("number = ?", (first,))[0]["state"] == "expired"


def test_a_transfer_to_a_window_or_an_operator_is_called_only_there_and_first(center, ivanova):
    petrova = Console(center, "petrova")
    petrova.act("open-window", window="6", services=["adult-snils"])
    first, second, third = issue(center, 3)
    ivanova.ticket("call-next", window="5")
    refused = ivanova.act("transfer", window="5", to_window="6", to_operator="petrova")
    assert refused.status_code == 422 and refused.json()["detail"] == "give exactly one of to_service, to_window, to_operator"
    assert ivanova.act("transfer", window="5", to_window="9").json()["detail"] == "window 9 is not open"
    assert ivanova.ticket("transfer", window="5", to_window="6")["state"] == "waiting"
    # Window 6 serves another service, yet calls the visitor sent to it; window 5 never does.
    assert ivanova.ticket("call-next", window="5")["number"] == second
    assert petrova.ticket("call-next", window="6")["number"] == first
    petrova.ticket("finish", window="6")
    assert history(center, first)[1] == ("transferred", "5", "ivanova")
    assert center.hub.queue.history(center.tickets("number = ?", (first,))[0]["id"])[1]["detail"] == "window 6"

    assert ivanova.act("transfer", window="5", to_operator="nobody").json()["detail"] == "no operator nobody in this center"
    ivanova.ticket("transfer", window="5", to_operator="petrova")
    assert ivanova.ticket("call-next", window="5")["number"] == third
    ivanova.ticket("finish", window="5")
    assert ivanova.ticket("call-next", window="5") is None  # П002 waits for petrova alone
    assert petrova.act("close-window", window="6").status_code == 200
    assert petrova.act("open-window", window="7", services=["adult-snils"]).status_code == 200
    assert petrova.ticket("call-next", window="7")["number"] == second
    row = center.tickets("number = ?", (second,))[0]
    assert (row["operator"], row["for_operator"], row["window"]) == ("petrova", "petrova", "7")


def test_a_transfer_to_another_service_keeps_the_time_of_issue(center, ivanova):
    first, _ = issue(center, 2)
    ivanova.ticket("call-next", window="5")
    assert ivanova.ticket("transfer", window="5", to_service="adult-snils")["service"] == "adult-snils"
    assert ivanova.act("transfer", window="5", to_service="no-such").status_code == 422
    petrova = Console(center, "petrova")
    petrova.act("open-window", window="6", services=["adult-snils"])
    assert petrova.ticket("call-next", window="6")["number"] == first
    assert center.hub.queue.history(center.tickets("number = ?", (first,))[0]["id"])[1]["detail"] == (
        "passport-rf -> adult-snils")


def test_several_services_in_one_visit_each_with_its_outcome(center, ivanova):
    (number,) = issue(center, 1)
    ivanova.ticket("call-next", window="5")
    ivanova.ticket("add-service", window="5", service="adult-snils")
    assert ivanova.act("add-service", window="5", service="adult-snils").status_code == 409
    assert ivanova.act("add-service", window="5", service="no-such").status_code == 422
    services = ivanova.state("5")["current"]["services"]
    assert [(s["id"], s["outcome"]) for s in services] == [("passport-rf", None), ("adult-snils", None)]
    assert ivanova.act("finish", window="5", outcomes={"adult-snils": "lost"}).status_code == 422
    assert ivanova.act("finish", window="5", outcomes={"inn": "done"}).json()["detail"] == (
        "inn is not a service of this visit")
    ivanova.ticket("finish", window="5", outcomes={"adult-snils": "documents_missing"})
    rows = center.hub.db.db.query("SELECT service, outcome, window, operator FROM visit_services ORDER BY service")
    assert [tuple(r.values()) for r in rows] == [("adult-snils", "documents_missing", "5", "ivanova"),
                                                 ("passport-rf", "done", "5", "ivanova")]
    state = ivanova.state("5")
    assert [o["id"] for o in state["outcomes"]] == ["done", "documents_missing", "refused", "consultation"]
    assert state["outcomes"][0]["name"] == "Оказана"
    assert {"login": "petrova", "name": "Петрова Анна"} in state["operators"]


def test_a_pause_with_its_reason_ends_by_resume_or_by_calling(center, ivanova):
    issue(center, 1)
    assert ivanova.act("pause", window="5", reason="lunch").status_code == 422
    ivanova.ticket("pause", window="5", reason="technical")
    paused = ivanova.state("5")["window"]["paused"]
    assert paused["reason"] == "technical"
    assert ivanova.act("pause", window="5", reason="break").json()["detail"] == "window 5 is already paused"
    center.hub.operators.add(CENTER, "smirnova", "Смирнова Ольга", PASSWORD, role="supervisor")
    smirnova = Console(center, "smirnova")
    hall = smirnova.get(f"{URL}/console/api/hall").json()["windows"]
    assert hall[0]["paused"] == paused and hall[0]["held"] == 0
    center.advance(minutes=7)
    ivanova.ticket("call-next", window="5")  # the pause ends first
    assert ivanova.state("5")["window"]["paused"] is None
    ivanova.ticket("finish", window="5")
    ivanova.ticket("pause", window="5", reason="break")
    ivanova.ticket("resume", window="5")
    assert ivanova.act("resume", window="5").json()["detail"] == "window 5 is not paused"
    pauses = list(center.hub.db.db.query("SELECT reason, operator, started_at, ended_at FROM window_pauses ORDER BY id"))
    assert [(p["reason"], p["operator"]) for p in pauses] == [("technical", "ivanova"), ("break", "ivanova")]
    assert all(p["ended_at"] for p in pauses)
    names = {r["id"]: r["name"] for r in ivanova.state("5")["pause_reasons"]}
    assert names == {"break": "Перерыв", "technical": "Технический сбой", "other": "Другое"}


def test_a_walk_in_is_served_at_once_and_never_called_in_the_hall(center, ivanova):
    issue(center, 1)
    served = ivanova.ticket("walk-in", window="5", service="inn")
    assert served["state"] == "serving" and served["service"] == "inn"
    row = center.tickets("walk_in = 1")[0]
    assert row["issued_at"] == row["called_at"] == row["started_at"] and row["operator"] == "ivanova"
    assert ivanova.state("5")["current"]["walk_in"] is True
    assert center.hub.queue.recent_calls(CENTER) == []
    assert ivanova.act("walk-in", window="5", service="inn").status_code == 409  # one visitor at a time
    ivanova.ticket("finish", window="5")
    assert ivanova.ticket("walk-in", window="5", service="inn")["number"] != served["number"]


def test_a_window_not_open_calls_and_serves_nobody(center, ivanova):
    for action, body in (("call-number", {"number": "П001", "service": "inn"}), ("walk-in", {"service": "inn"}),
                         ("pause", {"reason": "break"})):
        assert ivanova.act(action, window="8", **body).json()["detail"] == "window 8 is not open: open it first"


def test_an_operator_acts_only_at_their_own_window(center, ivanova):
    petrova = Console(center, "petrova")
    for action, body in (("hold", {}), ("return", {}), ("pause", {"reason": "break"}), ("walk-in", {"service": "inn"}),
                         ("call-number", {"number": "П001"}), ("add-service", {"service": "inn"})):
        refused = petrova.act(action, window="5", **body)
        assert refused.status_code == 409 and "open by another operator" in refused.json()["detail"], action


def test_the_keypads_new_keys_act_through_the_same_queue_code(center, ivanova):
    first, second = issue(center, 2)
    _, token = center.hub.identity.enroll(center.hub.identity.create_code(CENTER, "console", window="5"), "console-5")
    keypad = requests.Session()
    keypad.mount(URL, AppTransport(center.call))
    keypad.headers["Authorization"] = f"Bearer {token}"

    def key(action: str) -> dict | None:
        reply = keypad.post(f"{URL}/api/v1/windows/5/{action}")
        assert reply.status_code == 200, reply.text
        return reply.json()["ticket"]

    assert key("call-next")["number"] == first
    assert key("hold")["state"] == "held"
    assert key("call-next")["number"] == second
    assert key("done")["state"] == "done"
    assert key("return") == {"number": first, "state": "called", "service": "passport-rf"}
    assert key("done")["state"] == "done"
    assert key("pause") is None
    assert ivanova.state("5")["window"]["paused"]["reason"] == "break"
    assert key("resume") is None and ivanova.state("5")["window"]["paused"] is None
    assert [h[0] for h in history(center, first)] == ["called", "held", "called", "done"]
    assert all(h[2] == "ivanova" for h in history(center, first))
    assert keypad.post(f"{URL}/api/v1/windows/5/resume").json()["detail"] == "window 5 is not paused"
    assert keypad.post(f"{URL}/api/v1/windows/5/dance").status_code == 404

    # The console device's own client, as its keys call it: the display shows the number or "—".
    link = WindowLink(HubClient(URL, token, transport=AppTransport(center.call)))
    (third,) = issue(center, 1)
    assert link.act("5", "call-next") == third
    assert link.act("5", "hold") is None
    assert link.act("5", "return") == third
    with pytest.raises(LinkError, match="finish the current visitor"):
        link.act("5", "pause")
    assert link.act("5", "done") is None and link.act("5", "pause") is None
    link.hub.close()


def test_the_keypads_new_keys_are_optional_pins_of_the_device_file(tmp_path):
    path = write_console_config(tmp_path)
    path.write_text(path.read_text().replace("done = 23", "done = 23\nhold = 2\nreturn = 3\npause = 7\nresume = 8"))
    assert load_config(path).console.keypad.pins == {"call_next": 17, "recall": 27, "no_show": 22, "done": 23,
                                                     "hold": 2, "return": 3, "pause": 7, "resume": 8}
    path.write_text(path.read_text().replace("pause = 7", "pause = 17"))
    with pytest.raises(ConfigError, match=r"\[keypad\] pause = 17: expected a pin not used elsewhere"):
        load_config(path)


BAD = [
    ("call-number", {"number": " "}), ("call-number", {"number": "П001/1"}), ("call-number", {"number": "ПП01"}),
    ("call-number", {"number": "П001", "service": ""}), ("call-number", {"number": 7}),
    ("walk-in", {"service": None}), ("hold", {"reason": 5}), ("return", {"number": "Z"}),
    ("transfer", {}), ("transfer", {"to_window": "окно пять"}), ("transfer", {"to_operator": ""}),
    ("add-service", {"service": "x" * 65}), ("finish", {"outcomes": ["done"]}),
    ("finish", {"outcomes": {"passport-rf": "great"}}), ("pause", {}), ("pause", {"reason": "Break"}),
]


def test_bad_values_get_a_reason_never_a_server_error(center, ivanova):
    issue(center, 1)
    for visitor in (False, True):  # with nobody at the window, then with a visitor at it
        if visitor:
            ivanova.ticket("call-next", window="5")
        for action, body in BAD:
            reply = ivanova.act(action, window="5", **body)
            assert reply.status_code in (409, 422) and reply.json()["detail"], (action, body, reply.text)
