"""What the city answers with a quarter of its history loaded: the dashboard, the SLA reports,
the public waiting times.

    python benchmarks/city_query_bench.py [--runs 100] [--report-runs 15] [--days 85] [--cluster]
                                          [--explain] [--quick] [--write]

The history is benchmarks/city_data.py's (~6 million tickets of 110 centers over 85 working
days, or a year's with --days 300, loaded once into a cluster kept between runs); today is
filled again up to the moment of the run (people waiting, windows open and paused, a few
devices offline, two silent centers).
A real city process (`mfc-edge city`'s app under uvicorn, its public rate limit raised so that
one address may ask 1,000 times) answers over HTTP on 127.0.0.1; each figure is the time from
the request to the whole reply, one request at a time:

* the dashboard's JSON of every center (/dashboard/api/centers) and a center's drill-down,
  signed in as a viewer — goal p99 ≤ 200 ms;
* a district's monthly SLA report (/dashboard/api/report, by center, and by service every day),
  and the whole city's month by district for comparison — goal ≤ 2 s;
* the public waiting times (PUBLIC_WAITS_PATH, all centers and one center) from the process's
  cache — goal p99 ≤ 50 ms; and, beside it, what making the answer costs when its cache runs
  out (the typical waits by hour, read hourly, and the answer itself, every 15 s).

With --write the section of RESULTS.md is replaced (a year's history and a clustered one have
sections of their own); with --explain the plans of the dashboard's and a district month's
statements are printed as PostgreSQL's auto_explain logs them (ANALYZE, BUFFERS); --cluster
rewrites the tickets and ratings in (center, day) order first (the next run loads again).
"""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.city_data import (  # noqa: E402
    Center,
    KeptCluster,
    cluster_folder,
    database_size,
    parser,
    prepare,
    replace_today,
)
from benchmarks.results import percentile, write_section  # noqa: E402
from city.local_cluster import free_port  # noqa: E402
from mfc_edge.city_protocol import PUBLIC_WAITS_PATH  # noqa: E402

HEADING = "## City tier (issue 19): dashboard, reports and public waits on a {span}'s history"
CLUSTERED = "## City tier (issue 19): the quarter's history with its tickets and ratings clustered by center and day"
LOGIN, PASSWORD = "benchmark", "benchmark-only-password-19"


def serve(dsn: str, port: int) -> None:
    """A city process as `mfc-edge city` runs it, the public answers' rate limit raised."""
    import uvicorn

    from city.app import create_app
    from city.city import City
    from city.public import PublicSettings
    from city.routes.public import configure

    city = City(dsn)
    app = create_app(city)
    configure(app, PublicSettings(rate_per_second=1e6, burst=10**6))
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    finally:
        city.close()


class CityProcess:
    def __init__(self, dsn: str, settings: str = ""):
        """`settings`: PostgreSQL settings of the process's connections ("-c name=value ...",
        libpq's PGOPTIONS), as a deployment may give them."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PGOPTIONS": settings} if settings else None
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", dsn, str(self.port)], env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the city process did not start within 60 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def viewer_session(dsn: str, url: str) -> requests.Session:
    """A session signed in as a dashboard viewer (the account is made once per database)."""
    from city.accounts import Accounts
    from city.city import City

    city = City(dsn, pool_size=1)
    try:
        Accounts(city).add(LOGIN, "Benchmark", PASSWORD)
    except ValueError:
        pass  # made by an earlier run
    finally:
        city.close()
    session = requests.Session()
    reply = session.post(url + "/dashboard/api/sign-in", json={"login": LOGIN, "password": PASSWORD}, timeout=30)
    reply.raise_for_status()
    return session


def timed(call: Callable[[], requests.Response], runs: int) -> tuple[list[float], int]:
    """Seconds of each of `runs` calls, and the size of the last reply (bytes)."""
    times, size = [], 0
    for _ in range(runs):
        began = time.perf_counter()
        reply = call()
        took = time.perf_counter() - began
        reply.raise_for_status()
        size = len(reply.content)
        times.append(took)
    return times, size


def row(label: str, times: list[float], size: int, goal_ms: float | None) -> dict[str, Any]:
    p99 = percentile(times, 0.99) * 1000
    return {"label": label, "median": statistics.median(times) * 1000, "p99": p99, "min": min(times) * 1000,
            "max": max(times) * 1000, "runs": len(times), "size": size,
            "goal": goal_ms, "met": None if goal_ms is None else p99 <= goal_ms}


def report_month(first_day: date, last_day: date) -> tuple[date, date]:
    """The last whole calendar month the history holds, else the whole history (a quick run)."""
    month_start = last_day.replace(day=1)
    while True:
        month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        if month_start >= first_day and month_end <= last_day:
            return month_start, month_end
        if month_start < first_day:
            return first_day, last_day
        month_start = (month_start - timedelta(days=1)).replace(day=1)


def making_public(dsn: str, runs: int) -> tuple[list[float], list[float]]:
    """Seconds to read the typical waits by hour (the answer's history part) and to make the
    answer from them, measured on the city's own functions."""
    from city.city import City
    from city.public import PublicSettings, make_waits, typical_waits

    settings = PublicSettings()
    city = City(dsn, pool_size=1)
    history_times, answer_times = [], []
    try:
        with city.db.connection() as conn:
            history: dict = {}
            for _ in range(max(1, runs // 5)):
                began = time.perf_counter()
                now = city.now()
                history = typical_waits(conn, now.date() - timedelta(weeks=settings.history_weeks, days=1))
                history_times.append(time.perf_counter() - began)
            for _ in range(runs):
                began = time.perf_counter()
                make_waits(conn, city.now(), settings, history)
                answer_times.append(time.perf_counter() - began)
    finally:
        city.close()
    return history_times, answer_times


def explain(cluster: KeptCluster, dsn: str, month: tuple[date, date], district: str, settings: str) -> None:
    """Print the plans (EXPLAIN ANALYZE, BUFFERS) of what the dashboard and a district's month
    run, as PostgreSQL's auto_explain logs them for a city process asked once each."""
    log = cluster.folder / "server.log"
    offset = log.stat().st_size
    city = CityProcess(dsn, settings + " -c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=20"
                       " -c auto_explain.log_analyze=on -c auto_explain.log_buffers=on")
    try:
        get = viewer_session(dsn, city.url).get
        get(city.url + "/dashboard/api/centers", timeout=60).raise_for_status()
        get(city.url + "/dashboard/api/report", params={"from": month[0].isoformat(), "to": month[1].isoformat(),
                                                        "district": district}, timeout=120).raise_for_status()
    finally:
        city.stop()
    with log.open(encoding="utf-8", errors="replace") as f:
        f.seek(offset)
        print(f"=== plans, settings: {settings or 'defaults'}\n" + f.read())


# PostgreSQL settings a run may compare (--variant): its defaults, and random_page_cost as
# advised for SSDs (index scans priced nearer to what they cost when the pages are cached).
VARIANTS = {"defaults": "", "random_page_cost 1.1": "-c random_page_cost=1.1"}


def measure(dsn: str, url: str, centers: list[Center], month: tuple[date, date], district: str,
            runs: int, report_runs: int) -> list[dict[str, Any]]:
    """The timings of the city process at `url`, request by request."""
    rows = []
    get = viewer_session(dsn, url).get
    rows.append(row("dashboard: every center (/dashboard/api/centers)",
                    *timed(lambda: get(url + "/dashboard/api/centers", timeout=60), runs), 200))
    n = iter(range(10**9))
    rows.append(row("dashboard: one center's drill-down", *timed(
        lambda: get(f"{url}/dashboard/api/centers/{centers[next(n) % len(centers)].id}", timeout=60), runs), 200))
    span = {"from": month[0].isoformat(), "to": month[1].isoformat()}
    report = url + "/dashboard/api/report"
    rows.append(row(f"report: district {district}'s month by center", *timed(
        lambda: get(report, params={**span, "district": district}, timeout=120), report_runs), 2000))
    rows.append(row(f"report: district {district}'s month by service every day", *timed(
        lambda: get(report, params={**span, "district": district, "by": "service", "every": "day"}, timeout=120),
        report_runs), 2000))
    rows.append(row("report: the whole city's month by district", *timed(
        lambda: get(report, params={**span, "by": "district"}, timeout=300), max(3, report_runs // 5)), None))
    plain = requests.Session()
    first, _ = timed(lambda: plain.get(url + PUBLIC_WAITS_PATH, timeout=120), 1)
    # A fresh process answers at once and reads the weeks of history for the best times in the
    # background: the cached answers are timed once they carry them.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and all(
            c.get("best_time") is None for c in plain.get(url + PUBLIC_WAITS_PATH, timeout=60).json()["centers"]):
        time.sleep(1)
    rows.append(row("public waits: all centers, from the cache", *timed(
        lambda: plain.get(url + PUBLIC_WAITS_PATH, timeout=60), runs * 5), 50))
    rows.append(row("public waits: one center, from the cache", *timed(
        lambda: plain.get(f"{url}{PUBLIC_WAITS_PATH}/{centers[next(n) % len(centers)].id}", timeout=60),
        runs * 5), 50))
    rows.append(row("public waits: a fresh process's first answer", first, 0, None))
    return rows


def table_of(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = ["| request | settings | median ms | p99 ms | range ms | runs | reply bytes | goal |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for variant, rows in results.items():
        for r in rows:
            goal = "–" if r["goal"] is None else f"p99 ≤ {r['goal']:.0f} ms: {'met' if r['met'] else 'NOT met'}"
            lines.append(f"| {r['label']} | {variant} | {r['median']:.0f} | {r['p99']:.0f} | {r['min']:.0f}–"
                         f"{r['max']:.0f} | {r['runs']} | {r['size'] or '–'} | {goal} |")
    return "\n".join(lines)


def main() -> int:
    p = parser()
    p.description = __doc__.splitlines()[0]
    p.add_argument("--runs", type=int, default=100, help="requests per dashboard figure (5× for the public ones)")
    p.add_argument("--report-runs", type=int, default=15)
    p.add_argument("--variant", action="append", choices=list(VARIANTS),
                   help="PostgreSQL settings to measure under (repeat; default: defaults)")
    p.add_argument("--explain", action="store_true")
    p.add_argument("--cluster", action="store_true",
                   help="CLUSTER the tickets and ratings by (center, day) first (the next run loads the history again)")
    p.add_argument("--write", action="store_true", help="replace this benchmark's section of RESULTS.md")
    args = p.parse_args()
    if args.quick:
        args.runs, args.report_runs = 30, 5
    results: dict[str, list[dict[str, Any]]] = {}
    clustered_s = 0.0
    with KeptCluster(cluster_folder(args)) as cluster:
        dsn, found, centers = prepare(args, cluster)
        now = datetime.now(UTC)
        with psycopg.connect(dsn) as conn:
            today = replace_today(conn, centers, found["per_day"], now)
            conn.commit()
            conn.autocommit = True
            conn.execute("ANALYZE")  # today's rows were just replaced
            if args.cluster:
                began = time.perf_counter()
                # What a nightly maintenance of the closed days would give; the next run loads
                # the history again, laid out as records arrive.
                conn.execute("UPDATE bench_history SET schema = 'clustered'")
                conn.execute("CLUSTER tickets USING tickets_center_day")
                conn.execute("CLUSTER ratings USING ratings_center_day")
                conn.execute("ANALYZE")
                clustered_s = time.perf_counter() - began
        size = database_size(dsn)
        month = report_month(found["first_day"], found["last_day"])
        district = centers[0].district
        for variant in args.variant or ["defaults"]:
            if args.explain:
                explain(cluster, dsn, month, district, VARIANTS[variant])
            city = CityProcess(dsn, VARIANTS[variant])
            try:
                results[variant] = measure(dsn, city.url, centers, month, district, args.runs, args.report_runs)
            finally:
                city.stop()
            print(table_of({variant: results[variant]}), file=sys.stderr)
        history_times, answer_times = making_public(dsn, max(5, args.runs // 10))
    making = [row("typical waits by hour read (once an hour)", history_times, 0, None),
              row("the answer made from them (every 15 s)", answer_times, 0, None)]
    table = table_of(results)
    making_table = "| making the public answer, in a process (defaults) | median ms | p99 ms | range ms | runs |\n" \
                   "| --- | --- | --- | --- | --- |\n" + "\n".join(
                       f"| {r['label']} | {r['median']:.0f} | {r['p99']:.0f} | {r['min']:.0f}–{r['max']:.0f} "
                       f"| {r['runs']} |" for r in making)
    print(table + "\n\n" + making_table)
    if args.write:
        # A year's history (--days 300) has a section of its own beside the quarter's.
        days = f" --days {found['days']}" if found["days"] != 85 else ""
        heading = CLUSTERED if args.cluster else HEADING.format(span="year" if found["days"] >= 250 else "quarter")
        clustered = (f"Before the requests, `CLUSTER tickets USING tickets_center_day` and the same for ratings "
                     f"rewrote the tables in (center, day) order in {clustered_s:.0f} s (an exclusive lock: a "
                     "nightly maintenance's job, not something to run while the city serves). ") if args.cluster else ""
        write_section(heading, (
            f"{heading}\n\n"
            f"Command: `.venv/bin/python benchmarks/city_data.py{days}` (once), then `.venv/bin/python "
            f"benchmarks/city_query_bench.py{days} --runs {args.runs} --report-runs {args.report_runs}"
            f"{' --cluster' if args.cluster else ''} --write`  \n"
            f"Machine: {platform.machine()}, {os.cpu_count()} cores shared by PostgreSQL, the city process and the "
            f"client (and other work: load average {' '.join(f'{v:.1f}' for v in os.getloadavg())} at the end); "
            f"PostgreSQL's default settings but those compared (shared_buffers 128 MB), fsync on; Python "
            f"{platform.python_version()}; {now.date().isoformat()}, run at {now.astimezone(centers_zone()):%H:%M} "
            "Moscow time.\n\n"
            f"History: {found['tickets']:,} tickets and {found['ratings']:,} ratings of {found['centers']} centers "
            f"in 12 districts, {found['days']} working days ({found['first_day']}..{found['last_day']}), loaded by "
            f"city_data.py with COPY a day at a time in the order of issue across the centers (as hubs' records "
            f"arrive), in {found['seconds']:.0f} s with VACUUM ANALYZE; database {size}. "
            f"Today so far: {today:,} tickets. The reports' month: {month[0]}..{month[1]}; district {district} "
            f"holds {sum(c.district == district for c in centers)} centers. One request at a time, signed in as "
            "a viewer for the dashboard's; each settings variant is a city process of its own on the same "
            "database, one after the other. " + clustered + "\n\n" + table + "\n\n" + making_table + "\n"))
    return 0


def centers_zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Moscow")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main())
