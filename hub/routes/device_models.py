"""The bodies devices send and the replies they get, as OpenAPI documents them."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


# Short words a device reports about itself ("ok", "paper_out", "HDMI-A-1", "0.4.0+g1a2b"): they
# end up in the console, the command line and messenger texts, so nothing but plain characters.
WORD = Field(None, max_length=40, pattern=r"^[A-Za-z0-9 ._:+-]*$")


class Disk(BaseModel):
    free_bytes: int = Field(ge=0)
    total_bytes: int = Field(ge=0)


class Throttling(BaseModel):
    raw: str = Field(max_length=12, pattern=r"^0x[0-9a-f]+$")
    now: list[str] = Field(max_length=8)
    since_boot: list[str] = Field(max_length=8)


class Display(BaseModel):
    status: str = Field(max_length=16, pattern=r"^[a-z]+$")
    connector: str | None = WORD
    power: str | None = WORD


class Heartbeat(BaseModel):
    """How a device is, once a minute (offline_cache/heartbeat.py). Null: the device cannot tell
    (no thermal sensor on a PC, no printer on a screen). Fields a newer device adds are ignored."""
    # No NaN or Infinity (Python's JSON reads them): they could not be written out again as JSON.
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    center: str = Field(max_length=64, description="must be the token's")
    device: str = Field(max_length=64, description="must be the token's")
    version: str | None = WORD
    release: int | None = Field(None, ge=1, le=2 ** 63 - 1, description="the software release it runs (issue 15)")
    channel: Literal["pilot", "stable"] | None = Field(None, description="the release's channel when it took it")
    every_s: float = Field(protocol.HEARTBEAT_EVERY_S, ge=1, le=3600,
                           description="seconds to the next beat; offline after "
                                       f"{protocol.OFFLINE_AFTER_BEATS} of them without a word")
    sent_at: str | None = Field(None, max_length=40, description="the device's time (the hub's once heard)")
    uptime_s: float | None = Field(None, ge=0, description="of the device's program")
    system_uptime_s: float | None = Field(None, ge=0)
    outbox: int = Field(ge=0, description="events waiting for the hub")
    disk: Disk | None = Field(None, description="of the device's data folder")
    cpu_temp_c: float | None = Field(None, ge=-100, le=200)
    throttling: Throttling | None = Field(None, description="the Pi firmware's flags (vcgencmd get_throttled)")
    clock_offset_s: float | None = Field(None, description="the hub's clock minus the device's")
    printer: str | None = WORD
    display: Display | None = None


class HeartbeatReply(BaseModel):
    received_at: str = Field(description="the hub's time")


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
