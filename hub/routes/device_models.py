"""The bodies devices send and the replies they get, as OpenAPI documents them."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mfc_edge import protocol


class EnrollRequest(BaseModel):
    code: str = Field(min_length=4, max_length=64)
    device_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")


class EnrollReply(BaseModel):
    center: str
    device_id: str
    role: str
    window: str | None = Field(None, description="for a console: the window the hub lets it act at")
    token: str
    bundle_key: str = Field(description="base64 of the hub's raw Ed25519 public key; devices pin it to verify bundles")


class EventBatch(BaseModel):
    events: list[Any] = Field(max_length=protocol.MAX_BATCH_EVENTS)


class EventResult(BaseModel):
    id: str | None
    status: str
    reason: str = ""


class BatchReply(BaseModel):
    results: list[EventResult]


class FeedCall(BaseModel):
    number: str
    window: str
    at: str
    recall: bool


class FeedEstimate(BaseModel):
    ahead: int = Field(description="people waiting for the service: all of them are ahead of a new ordinary ticket")
    minutes: int = Field(description="the estimated wait in whole minutes, rounded up; the phone page of a ticket "
                                     "uses the same formula")


class Feed(BaseModel):
    center: str
    version: int
    waiting: dict[str, int]
    oldest_waiting_since: dict[str, str]  # times, not durations, so an unchanged feed stays unchanged
    calls: list[FeedCall]
    mean_service_minutes: float
    open_windows: dict[str, int]
    estimates: dict[str, FeedEstimate] = Field(
        description="per service of the center's catalog (and any other service someone waits for): what a kiosk "
                    "tells the visitor taking a new ticket now")


class Load(BaseModel):
    """The center's load chart; weekdays are mon..sun, hours 0..23 of the center's local time."""
    center: str
    timezone: str = Field(description="the center's IANA time zone (Europe/Moscow unless set with hub set-center)")
    weeks: int
    since: str = Field(description="the first local date counted")
    until: str = Field(description="the last local date counted (yesterday)")
    computed_at: str
    days: dict[str, int] = Field(description="per weekday: days with tickets, the days the averages stand on")
    hours: dict[str, list[float]] = Field(description="per weekday: 24 average numbers of tickets issued per hour")
    busiest: dict[str, int | None] = Field(description="per weekday: the busiest working hour, null without data")
    quietest: dict[str, list[int]] = Field(description="per weekday: up to 3 quietest working hours, in clock order")


class Screenshot(BaseModel):
    device: str
    taken_at: str = Field(description="when the image reached the hub (the hub's clock)")
    bytes: int
    width: int
    height: int


class ScreenshotRequest(BaseModel):
    requested: bool = Field(description="true: a supervisor asked for a new screenshot; send one")
    requested_at: str | None = None


class Command(BaseModel):
    id: str
    kind: str = Field(description=" or ".join(protocol.COMMAND_KINDS))
    requested_at: str = Field(description="the hub's time")


class Commands(BaseModel):
    commands: list[Command] = Field(description="the supervisor's commands this device has not reported, oldest first")


class CommandReport(BaseModel):
    result: str = Field(min_length=1, max_length=protocol.MAX_COMMAND_RESULT, description="how it went, in one line")


class CommandDone(BaseModel):
    id: str
    kind: str
    done_at: str = Field(description="the hub's time of the first report")
    result: str


PNG_BODY = {"requestBody": {"required": True, "content": {"image/png": {"schema": {"type": "string",
                                                                                   "format": "binary"}}}}}
