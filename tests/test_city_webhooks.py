"""Webhooks: the feed's events POSTed to a real receiver on 127.0.0.1, signed; retried while it
is down or failing, then delivered once; never twice by two city processes; given up after the
limit, with the reason kept."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from city.city import City
from city.integration import Scope
from city.server import CityThread
from city.webhooks import (
    DELIVERY_HEADER,
    SEND_BUDGET_S,
    SIGNATURE_HEADER,
    WebhookError,
    Webhooks,
    sign,
    validate_url,
    verify,
)
from mfc_edge.cli import main
from tests.helpers.city import CityProcess
from tests.helpers.city_feed import Receiver, a_visit, snapshot, until


@pytest.fixture
def city(city_dsn: str) -> Iterator[City]:
    c = City(city_dsn)
    try:
        yield c
    finally:
        c.close()


def fast(city: City, **options: Any) -> Webhooks:
    return Webhooks(city, retry_first_s=0.05, retry_max_s=0.2, **options)


def test_a_receiver_down_for_a_while_gets_each_event_once_signed(city: City) -> None:
    receiver = Receiver()
    webhooks = fast(city)
    _, secret = webhooks.add(receiver.url)
    receiver.server.server_close()  # down: nothing listens, connections are refused
    with city.db.connection() as conn:
        a_visit(conn, "c1", "t001", 1)
    until(lambda: max((d["attempts"] for d in webhooks.deliveries(failed_only=False)), default=0) >= 3,
          webhooks.run_once)
    failed = webhooks.deliveries()
    assert len(failed) == 4 and all(d["delivered_at"] is None for d in failed)
    assert all("refused" in d["last_error"].lower() or "connect" in d["last_error"].lower() for d in failed)
    # one try per round: the others wait behind it rather than knock on the same closed door
    assert sorted(d["attempts"] for d in failed)[:3] == [0, 0, 0]
    assert sum("not tried" in d["last_error"] for d in failed) == 3

    with Receiver(port=int(receiver.url.split(":")[2].split("/")[0])) as back:
        back.status = 503  # up, but failing
        until(lambda: back.tries >= 4, webhooks.run_once)
        assert back.received == []
        back.status = 200
        until(lambda: len(back.received) == 4, webhooks.run_once)
        for _ in range(5):  # nothing more comes however often the worker runs
            webhooks.run_once()
            time.sleep(0.06)
    by_seq = sorted(back.events(), key=lambda e: e["seq"])  # retries may bring them out of order
    assert [e["type"] for e in by_seq] == ["ticket.issued", "ticket.called", "ticket.started", "ticket.served"]
    assert len({h[DELIVERY_HEADER] for h, _ in back.received}) == 4
    for headers, body in back.received:
        assert verify(secret, headers[SIGNATURE_HEADER], body)
        assert orjson.loads(body)["delivery"] == headers[DELIVERY_HEADER]
        assert not verify(secret, headers[SIGNATURE_HEADER], body.replace(b"t001", b"t002"))
        assert not verify("whsec_another", headers[SIGNATURE_HEADER], body)
    attempts = sorted(orjson.loads(body)["attempt"] for _, body in back.received)
    assert attempts[:3] == [1, 1, 1] and attempts[3] >= 8  # 3 refused, 4 or more answered 503, then taken


def test_the_signature_binds_the_time_and_refuses_a_replay() -> None:
    body = b'{"event": {}}'
    now = 1_800_000_000
    header = sign("whsec_x", body, now)
    assert verify("whsec_x", header, body, now=now + 10)
    assert not verify("whsec_x", header, body, now=now + 3600)  # recorded and sent again an hour later
    assert not verify("whsec_x", header.replace(f"t={now}", f"t={now + 5}"), body, now=now)
    for bad in ("", "t=", "v1=abc", "t=abc,v1=00", f"t={now}", "t=99999999999999999999,v1=00"):
        assert not verify("whsec_x", bad, body, now=now)


def test_two_city_processes_never_deliver_an_event_twice(city: City, city_dsn: str) -> None:
    other = City(city_dsn)
    try:
        with Receiver() as receiver:
            first, second = fast(city), fast(other)
            first.add(receiver.url)
            with city.db.connection() as conn:
                for n in range(30):
                    a_visit(conn, "c1", f"t{n:03}", 1 + 10 * n)
            stop = threading.Event()

            def work(webhooks: Webhooks) -> None:
                while not stop.is_set():
                    webhooks.run_once()

            threads = [threading.Thread(target=work, args=(w,)) for w in (first, second, first, second)]
            for t in threads:
                t.start()
            try:
                until(lambda: len(receiver.received) >= 120, lambda: None, seconds=60)
                time.sleep(0.5)  # any second delivery would arrive now
            finally:
                stop.set()
                for t in threads:
                    t.join()
        cursors = [e["cursor"] for e in receiver.events()]
        assert len(cursors) == 120 and len(set(cursors)) == 120
        assert receiver.tries == 120
    finally:
        other.close()


def test_a_delivery_is_given_up_after_the_limit_with_its_reason(city: City, city_dsn: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    with Receiver() as receiver:
        receiver.status = 500
        webhooks = fast(city, max_attempts=3)
        webhook, _ = webhooks.add(receiver.url, ["ticket.issued"])
        with city.db.connection() as conn:
            snapshot(conn, "c1", "t1", 1, "waiting")
            snapshot(conn, "c1", "t1", 2, "called", 3)  # not a type this webhook wants
        until(lambda: webhooks.deliveries()[0]["gave_up_at"] is not None if webhooks.deliveries() else False,
              webhooks.run_once)
        for _ in range(3):
            webhooks.run_once()
    assert receiver.tries == 3
    [given_up] = webhooks.deliveries()
    assert given_up["attempts"] == 3 and given_up["type"] == "ticket.issued" and "500" in given_up["last_error"]
    assert main(["city", "webhook", "deliveries", "--dsn", city_dsn]) == 0
    out = capsys.readouterr().out
    assert "given up" in out and "answered 500" in out and webhook in out
    assert main(["city", "webhook", "list", "--dsn", city_dsn]) == 0
    assert "given up 1" in capsys.readouterr().out


def test_old_deliveries_and_removed_webhooks_are_dropped_after_a_month(city_dsn: str) -> None:
    clock = [datetime.now(UTC)]
    city = City(city_dsn, clock=lambda: clock[0])
    try:
        with Receiver() as receiver:
            webhooks = fast(city)
            kept, _ = webhooks.add(receiver.url)
            removed, _ = webhooks.add(receiver.url)
            with city.db.connection() as conn:
                snapshot(conn, "c1", "t1", 1, "waiting")
            until(lambda: len(receiver.received) == 2, webhooks.run_once)
        assert webhooks.remove(removed)
        with city.db.connection() as conn:
            assert conn.execute("SELECT secret FROM webhooks WHERE id = %s", [removed]).fetchone()["secret"] == ""
        clock[0] += timedelta(days=29)
        assert webhooks.prune() == 0
        clock[0] += timedelta(days=2)
        assert webhooks.prune() == 2
        assert [w["id"] for w in webhooks.all()] == [kept]
        with city.db.connection() as conn:
            assert [r["id"] for r in conn.execute("SELECT id FROM webhooks")] == [kept]
    finally:
        city.close()


def test_a_webhook_sees_only_its_centers_and_districts(city: City) -> None:
    with city.db.connection() as conn:
        conn.execute("INSERT INTO centers (id, district) VALUES ('c1', 'Северный'), ('c2', 'Южный')")
    with Receiver() as receiver:
        webhooks = fast(city)
        webhooks.add(receiver.url, scope=Scope(districts=("Южный",)))
        with city.db.connection() as conn:
            snapshot(conn, "c1", "t1", 1, "waiting")
            snapshot(conn, "c2", "t2", 2, "waiting")
        until(lambda: len(receiver.received) == 1, webhooks.run_once)
        for _ in range(3):
            webhooks.run_once()
    assert [e["center"] for e in receiver.events()] == ["c2"]


def test_every_city_process_delivers_in_the_background(city: City) -> None:
    with Receiver() as receiver, CityThread(city):
        Webhooks(city).add(receiver.url)
        with city.db.connection() as conn:
            snapshot(conn, "c1", "t1", 1, "waiting")
        until(lambda: len(receiver.received) == 1, lambda: None)
    assert receiver.events()[0]["ticket"] == "t1"


def test_only_https_addresses_except_this_machine(city_dsn: str, capsys: pytest.CaptureFixture[str]) -> None:
    for good in ("https://ais.example.ru/hook", "http://127.0.0.1:9000/x", "http://localhost/x", "http://[::1]:80/"):
        assert validate_url(good) == good
    for bad in ("http://ais.example.ru/hook", "ftp://x/y", "https://", "https://user:pw@host/", "not a url",
                "https://host:notaport/"):
        with pytest.raises(WebhookError):
            validate_url(bad)
    assert main(["city", "webhook", "add", "--dsn", city_dsn, "--url", "http://ais.example.ru/hook"]) == 2
    assert "must use https://" in capsys.readouterr().err
    assert main(["city", "webhook", "add", "--dsn", city_dsn, "--url", "https://ais.example.ru/hook",
                 "--events", "ticket.served,ticket.bogus"]) == 2
    assert "ticket.bogus" in capsys.readouterr().err
    assert main(["city", "webhook", "add", "--dsn", city_dsn, "--url", "https://ais.example.ru/hook",
                 "--events", "ticket.served", "--district", "Южный"]) == 0
    out, err = capsys.readouterr()
    secret = out.strip()
    assert secret.startswith("whsec_") and "shown only now" in err
    assert main(["city", "webhook", "list", "--dsn", city_dsn]) == 0
    listed = capsys.readouterr().out
    assert "ais.example.ru" in listed and "ticket.served" in listed and secret not in listed
    webhook = listed.split()[0]
    assert main(["city", "webhook", "remove", webhook, "--dsn", city_dsn]) == 0
    assert main(["city", "webhook", "remove", webhook, "--dsn", city_dsn]) == 1
    capsys.readouterr()
    assert main(["city", "webhook", "list", "--dsn", city_dsn]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.slow
def test_two_city_processes_deliver_in_the_background_each_event_once(city: City, city_dsn: str) -> None:
    processes = [CityProcess(city_dsn), CityProcess(city_dsn)]
    with Receiver() as receiver:
        webhook, secret = Webhooks(city).add(receiver.url)
        try:
            for p in processes:
                p.start()
            with city.db.connection() as conn:
                for n in range(20):
                    a_visit(conn, "c1", f"t{n:03}", 1 + 10 * n)
            until(lambda: len(receiver.received) >= 80, lambda: None, seconds=60)
            time.sleep(2.5)  # both processes look again twice in this time: nothing more may come
        finally:
            for p in processes:
                p.stop()
    assert len(receiver.received) == 80
    assert len({e["cursor"] for e in receiver.events()}) == 80
    assert all(verify(secret, h[SIGNATURE_HEADER], body) for h, body in receiver.received)
    assert all(orjson.loads(body)["webhook"] == webhook for _, body in receiver.received)


def test_what_a_process_cannot_send_within_its_lease_is_given_back_untried(city: City) -> None:
    sent: list[bytes] = []

    def send(url: str, body: bytes, headers: dict[str, str]) -> None:
        sent.append(body)

    def slow_send(url: str, body: bytes, headers: dict[str, str]) -> None:
        time.sleep(1.2)
        send(url, body, headers)

    # After one slow try, another would not be sure to end within this lease.
    webhooks = Webhooks(city, slow_send, lease_s=SEND_BUDGET_S + 1.0)
    webhooks.add("https://ais.example.ru/hook")
    with city.db.connection() as conn:
        a_visit(conn, "c1", "t001", 1)
    webhooks.queue()
    assert webhooks.deliver() == 1
    left = [d for d in webhooks.deliveries(failed_only=False) if d["delivered_at"] is None]
    assert len(left) == 3 and all(d["attempts"] == 0 and d["last_error"] == "" for d in left)
    assert fast(city, send=send).deliver() == 3  # another process takes them at once
    assert len({orjson.loads(b)["delivery"] for b in sent}) == 4

    with city.db.connection() as conn:
        a_visit(conn, "c1", "t002", 10)
    webhooks.queue()
    webhooks.stopping.set()  # the process is stopping: what it claims goes back untried
    assert webhooks.deliver() == 0 and len(sent) == 4
    assert fast(city, send=send).deliver() == 4 and len(sent) == 8
