"""The city dashboard for the operations staff (city/pages/dashboard.html), signed in with a
session cookie: every center's figures now, a center's drill-down, the SLA reports across
centers and districts, and, for admins, the accounts.

`current_user(role)` is the dependency every staff route uses (publishing too): 401 when
signed out, 403 when the account's role may not do it (city/accounts.py).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from city.accounts import ADMIN, EDITOR, ROLES, VIEWER, Account, Accounts
from city.dashboard import drill_down, overview
from city.report_export import file_name, to_csv, to_xlsx
from city.reports import GROUPS, PERIODS, ReportError, make_report
from city.routes.common import CityDep, city_of
from mfc_edge.report_files import XLSX_MEDIA
from mfc_edge.sign_in import SignInBusy, SignInError, SignInLocked

PAGES = Path(__file__).resolve().parent.parent / "pages"
SESSION_COOKIE = "mfc_city_session"
CENTER = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
# The pages run the city's own scripts and styles only: no inline ones, nothing from elsewhere.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache"}
STATIC = {"dashboard.js": "text/javascript; charset=utf-8", "signin.js": "text/javascript; charset=utf-8",
          "dashboard.css": "text/css; charset=utf-8", "city.css": "text/css; charset=utf-8"}


def no_store(response: Response) -> None:
    """The staff's answers (operators' logins, devices, accounts) are kept by no cache."""
    response.headers["Cache-Control"] = "no-store"


router = APIRouter(tags=["dashboard"], dependencies=[Depends(no_store)])


def current_user(role: str = VIEWER) -> Callable[..., Account]:
    """A dependency: the signed-in account if its role may do what `role` may, else 401/403."""
    if role not in ROLES:
        raise ValueError(f"role {role!r}: one of {', '.join(ROLES)}")

    def signed_in(request: Request, mfc_city_session: Annotated[str | None, Cookie()] = None) -> Account:
        found = Accounts(city_of(request)).session(mfc_city_session)
        if found is None:
            raise HTTPException(401, "signed out: sign in again")
        if not found.may(role):
            raise HTTPException(403, f"only an account with the role {role} can do this")
        return found
    return signed_in


ViewerDep = Annotated[Account, Depends(current_user(VIEWER))]
EditorDep = Annotated[Account, Depends(current_user(EDITOR))]
AdminDep = Annotated[Account, Depends(current_user(ADMIN))]


# --- pages ------------------------------------------------------------------------------

@router.get("/dashboard", response_class=FileResponse, include_in_schema=False)
def dashboard_page() -> FileResponse:
    return FileResponse(PAGES / "dashboard.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/dashboard/sign-in", response_class=FileResponse, include_in_schema=False)
def sign_in_page() -> FileResponse:
    return FileResponse(PAGES / "signin.html", media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/dashboard/static/{name}", response_class=FileResponse, include_in_schema=False)
def static_file(name: str) -> FileResponse:
    if name not in STATIC:
        raise HTTPException(404, f"no file {name!r} here")
    return FileResponse(PAGES / name, media_type=STATIC[name], headers=PAGE_HEADERS)


# --- signing in ---------------------------------------------------------------------------

class SignIn(BaseModel):
    login: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)


@router.post("/dashboard/api/sign-in", responses={
    401: {"description": "wrong login or password, or a disabled account"},
    429: {"description": "too many failed sign-ins for the login or from the address; see Retry-After"},
    503: {"description": "too many sign-ins at once; see Retry-After"}})
def sign_in(form: SignIn, request: Request, response: Response, city: CityDep) -> dict[str, str]:
    accounts = Accounts(city)
    try:
        who, token = accounts.sign_in(form.login, form.password, request.client.host if request.client else "")
    except SignInLocked as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(math.ceil(exc.retry_after))}) from None
    except SignInBusy as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "2"}) from None
    except SignInError as exc:
        raise HTTPException(401, str(exc)) from None
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=int(accounts.session_ttl.total_seconds()))
    return {"login": who.login, "name": who.name, "role": who.role}


@router.post("/dashboard/api/sign-out")
def sign_out(response: Response, city: CityDep,
             mfc_city_session: Annotated[str | None, Cookie()] = None) -> dict[str, str]:
    if mfc_city_session:
        Accounts(city).sign_out(mfc_city_session)
    response.delete_cookie(SESSION_COOKIE)
    return {"status": "signed out"}


@router.get("/dashboard/api/me")
def me(who: ViewerDep) -> dict[str, str]:
    return {"login": who.login, "name": who.name, "role": who.role}


# --- the figures --------------------------------------------------------------------------

@router.get("/dashboard/api/centers")
def centers(city: CityDep, who: ViewerDep) -> dict[str, Any]:
    """Every center's figures now, the totals of each district and of the city."""
    return overview(city)


@router.get("/dashboard/api/centers/{center}", responses={404: {"description": "no such center"}})
def center(city: CityDep, who: ViewerDep, center: str = PathParam(pattern=CENTER)) -> dict[str, Any]:
    """One center: its figures, windows, devices offline, today's line by service, and today's
    tickets issued and served hour by hour."""
    found = drill_down(city, center)
    if found is None:
        raise HTTPException(404, f"центр {center} не найден / no center {center}")
    return found


@router.get("/dashboard/api/report", response_model=None,
            responses={200: {"content": {"text/csv": {}, XLSX_MEDIA: {}}}, 422: {"description": "a bad range"}})
def report(city: CityDep, who: ViewerDep,
           first: str = Query(alias="from", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
           last: str = Query(alias="to", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
           by: str = Query("center", pattern=f"^({'|'.join(GROUPS)})$"),
           every: str = Query("", pattern=f"^({'|'.join(PERIODS)})?$"),
           district: str = Query("", max_length=100),
           format: str = Query("json", pattern="^(json|csv|xlsx)$")) -> Any:
    """The SLA report of the centers (of one district when given) over service days
    `from`..`to`, per center, district or service, optionally as a series; JSON, CSV or XLSX."""
    try:
        found = make_report(city, _day(first, "from"), _day(last, "to"), by, every or None, district or None)
    except ReportError as exc:
        raise HTTPException(422, str(exc)) from None
    if format == "json":
        return found
    data, media = (to_csv(found), "text/csv; charset=utf-8") if format == "csv" else (to_xlsx(found), XLSX_MEDIA)
    return Response(data, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{file_name(found, format)}"', "Cache-Control": "no-store"})


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HTTPException(422, f"{name}: {text!r} is not a date") from None


# --- accounts (admins) ---------------------------------------------------------------------

class NewAccount(BaseModel):
    login: str = Field(min_length=1, max_length=60)
    name: str = Field(default="", max_length=120)
    role: str = Field(pattern=f"^({'|'.join(ROLES)})$")
    password: str = Field(min_length=1, max_length=200)


@router.get("/dashboard/api/accounts", responses={403: {"description": "not an admin"}})
def accounts(city: CityDep, who: AdminDep) -> dict[str, Any]:
    return {"accounts": Accounts(city).all()}


@router.post("/dashboard/api/accounts", responses={403: {"description": "not an admin"},
                                                   422: {"description": "a bad login or a short password"}})
def add_account(form: NewAccount, city: CityDep, who: AdminDep) -> dict[str, str]:
    try:
        added = Accounts(city).add(form.login, form.name, form.password, form.role)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"login": added.login, "name": added.name, "role": added.role}


@router.post("/dashboard/api/accounts/{login}/disable",
             responses={403: {"description": "not an admin"}, 404: {"description": "no such account"}})
def disable_account(city: CityDep, who: AdminDep, login: str = PathParam(max_length=60)) -> dict[str, Any]:
    if login == who.login:
        raise HTTPException(409, "an admin cannot disable their own account")
    ended = Accounts(city).disable(login)
    if ended is None:
        raise HTTPException(404, f"учётной записи {login} нет / no account {login}")
    return {"login": login, "status": "disabled", "sessions_ended": ended}
