"""The city dashboard's accounts: roles, sign-in and its lockout (shared by every city process),
disabled accounts, sessions that expire, and the command line."""
from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from city.accounts import Accounts
from city.city import City
from city.server import CityThread
from mfc_edge.sign_in import LOGIN_FAILURES, SignInError, SignInLocked

PASSWORD = "correct horse 42"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id still, with a small cost: the default's 64 MiB a hash is what the city runs."""
    from argon2 import PasswordHasher

    monkeypatch.setattr("city.accounts._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Client(requests.Session):
    """A browser's cookies against one city process: paths instead of whole addresses."""

    def __init__(self, url: str):
        super().__init__()
        self.url = url

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return super().request(method, f"{self.url}{url!s}", *args, **kwargs)


@pytest.fixture
def city(city_dsn: str, clock: Clock) -> Iterator[City]:
    found = City(city_dsn, clock, pool_size=2)
    server = CityThread(found).start()
    found.url = server.url  # type: ignore[attr-defined]
    try:
        yield found
    finally:
        server.stop()
        found.close()


def client_of(city: City) -> Client:
    return Client(city.url)  # type: ignore[attr-defined]


def signed_in(city: City, login: str) -> Client:
    client = client_of(city)
    reply = client.post("/dashboard/api/sign-in", json={"login": login, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    return client


def test_roles_decide_what_an_account_may_do(city: City) -> None:
    accounts = Accounts(city)
    accounts.add("petrova", "Петрова", PASSWORD, "viewer")
    accounts.add("admin", "Администратор", PASSWORD, "admin")
    accounts.add("editor", "Редактор", PASSWORD, "editor")
    viewer, admin, editor = signed_in(city, "petrova"), signed_in(city, "admin"), signed_in(city, "editor")

    assert viewer.get("/dashboard/api/me").json() == {"login": "petrova", "name": "Петрова", "role": "viewer"}
    assert viewer.get("/dashboard/api/centers").status_code == 200
    # A viewer (and an editor) cannot manage accounts; an admin can.
    for who in (viewer, editor):
        assert who.get("/dashboard/api/accounts").status_code == 403
        assert who.post("/dashboard/api/accounts", json={"login": "x1", "role": "admin",
                                                          "password": PASSWORD}).status_code == 403
        assert who.post("/dashboard/api/accounts/petrova/disable").status_code == 403
    assert {a["login"] for a in admin.get("/dashboard/api/accounts").json()["accounts"]} == {"admin", "editor", "petrova"}
    made = admin.post("/dashboard/api/accounts", json={"login": "sidorov", "name": "Сидоров", "role": "viewer",
                                                        "password": PASSWORD})
    assert made.status_code == 200 and made.json()["role"] == "viewer"
    assert signed_in(city, "sidorov").get("/dashboard/api/me").json()["name"] == "Сидоров"
    short = admin.post("/dashboard/api/accounts", json={"login": "k", "role": "viewer", "password": "short"})
    assert short.status_code == 422 and "at least 8" in short.json()["detail"]
    bad_login = admin.post("/dashboard/api/accounts", json={"login": "Bad Login", "role": "viewer", "password": PASSWORD})
    assert bad_login.status_code == 422
    assert admin.post("/dashboard/api/accounts/admin/disable").status_code == 409  # not oneself
    assert admin.post("/dashboard/api/accounts/nobody/disable").status_code == 404
    # The roles as the dependency E and F use them.
    assert Accounts(city).session(None) is None
    with pytest.raises(ValueError, match="role"):
        accounts.add("x2", "", PASSWORD, "root")


def test_signed_out_is_401_and_the_cookie_is_http_only(city: City) -> None:
    Accounts(city).add("petrova", "Петрова", PASSWORD, "viewer")
    client = client_of(city)
    assert client.get("/dashboard/api/centers").status_code == 401
    reply = client.post("/dashboard/api/sign-in", json={"login": "petrova", "password": PASSWORD})
    cookie = reply.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/dashboard/api/centers").status_code == 200
    client.post("/dashboard/api/sign-out")
    assert client.get("/dashboard/api/centers").status_code == 401
    wrong = client_of(city).post("/dashboard/api/sign-in", json={"login": "petrova", "password": "wrong password"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong login or password"
    unknown = client_of(city).post("/dashboard/api/sign-in", json={"login": "nobody", "password": PASSWORD})
    assert unknown.json() == wrong.json()  # no hint which logins exist


def test_sessions_expire_and_only_the_tokens_hash_is_kept(city: City, clock: Clock) -> None:
    accounts = Accounts(city)
    accounts.add("petrova", "Петрова", PASSWORD, "viewer")
    _, token = accounts.sign_in("petrova", PASSWORD)
    assert accounts.session(token) is not None
    with city.db.connection() as conn:
        kept = [r["token_hash"] for r in conn.execute("SELECT token_hash FROM account_sessions")]
    assert token not in kept and len(kept[0]) == 64
    clock.now += accounts.session_ttl - timedelta(minutes=1)
    assert accounts.session(token) is not None
    clock.now += timedelta(minutes=2)
    assert accounts.session(token) is None


def test_a_disabled_account_is_signed_out_and_cannot_sign_in(city: City) -> None:
    accounts = Accounts(city)
    accounts.add("petrova", "Петрова", PASSWORD, "viewer")
    _, token = accounts.sign_in("petrova", PASSWORD)
    assert accounts.disable("petrova") == 1
    assert accounts.session(token) is None
    with pytest.raises(SignInError, match="disabled"):
        accounts.sign_in("petrova", PASSWORD)
    assert accounts.disable("nobody") is None
    accounts.add("petrova", "Петрова", "a new password 1", "viewer")  # enabled again
    assert accounts.sign_in("petrova", "a new password 1")[0].login == "petrova"


def test_a_new_password_ends_the_accounts_sessions(city: City) -> None:
    accounts = Accounts(city)
    accounts.add("petrova", "Петрова", PASSWORD, "viewer")
    _, token = accounts.sign_in("petrova", PASSWORD)
    accounts.add("petrova", "Петрова", PASSWORD, "admin")  # the same password: sessions kept
    assert accounts.session(token) is not None and accounts.session(token).role == "admin"  # type: ignore[union-attr]
    accounts.add("petrova", "Петрова", "another password", "admin")
    assert accounts.session(token) is None


def test_failed_sign_ins_lock_the_login_out_in_every_city_process(city: City, city_dsn: str, clock: Clock) -> None:
    Accounts(city).add("petrova", "Петрова", PASSWORD, "viewer")
    other_process = City(city_dsn, clock, pool_size=1)  # another city process on the same database
    try:
        for n in range(LOGIN_FAILURES):
            with pytest.raises(SignInError):
                Accounts(city if n % 2 else other_process).sign_in("petrova", "wrong password", "10.0.0.1")
        # Locked: the right password is refused too, by either process, without being looked at.
        for process in (city, other_process):
            with pytest.raises(SignInLocked) as locked:
                Accounts(process).sign_in("petrova", PASSWORD, "10.0.0.2")
            assert 0 < locked.value.retry_after <= 30
        reply = client_of(city).post("/dashboard/api/sign-in", json={"login": "petrova", "password": PASSWORD})
        assert reply.status_code == 429 and int(reply.headers["retry-after"]) >= 1
        clock.now += timedelta(seconds=31)
        assert Accounts(other_process).sign_in("petrova", PASSWORD, "10.0.0.2")[0].login == "petrova"
        # A right password cleared the login's failures: one more wrong one does not lock it.
        with pytest.raises(SignInError) as again:
            Accounts(city).sign_in("petrova", "wrong password", "10.0.0.2")
        assert not isinstance(again.value, SignInLocked)
        assert Accounts(city).sign_in("petrova", PASSWORD, "10.0.0.2")
    finally:
        other_process.close()


def test_the_command_line_adds_and_disables_accounts(city: City, city_dsn: str, monkeypatch, capsys) -> None:
    from city.accounts import ROLES as CITY_ROLES
    from city.reports import GROUPS as CITY_GROUPS
    from mfc_edge.cli import main
    from mfc_edge.cli.city_dashboard_commands import GROUPS, ROLES

    assert ROLES == CITY_ROLES and GROUPS == CITY_GROUPS
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["city", "add-user", "ivanov", "--role", "admin", "--name", "Иванов", "--dsn", city_dsn]) == 0
    assert "admin ivanov can sign in" in capsys.readouterr().out
    assert Accounts(city).sign_in("ivanov", PASSWORD)[0].name == "Иванов"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["city", "add-user", "ivanov2", "--role", "viewer", "--dsn", city_dsn]) != 0
    assert capsys.readouterr().err.strip().count("\n") == 0  # one line
    assert main(["city", "disable-user", "ivanov", "--dsn", city_dsn]) == 0
    assert "signed out of 1 session(s)" in capsys.readouterr().out
    assert main(["city", "disable-user", "nobody", "--dsn", city_dsn]) != 0
    assert "no account nobody" in capsys.readouterr().err
