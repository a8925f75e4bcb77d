"""icalendar's own serialisation against the publisher's, for the same calendar events
(decision 0002). Every VEVENT of a built calendar is read back with icalendar and written
twice: (a) as an icalendar Event (.add of each property, to_ical), (b) as
publisher/formats/calendar.py writes it (content lines, values escaped by icalendar's
vText, folded by our fold). Then folding alone, icalendar's foldline against ours, over
every content line. icalendar is a dependency, so the project's venv runs it:

    .venv/bin/python -m publisher build --plans PLANS --out /tmp/adr/site40 --today 2026-12-07
    .venv/bin/python -W ignore docs/decisions/measure/calendar_events.py /tmp/adr/site40/all.ics
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from icalendar import Calendar, Event, vText
from icalendar.parser import foldline

from publisher.formats.calendar import TZID, fold

ics = Path(sys.argv[1]).read_bytes()
values: list[dict[str, Any]] = []
for event in Calendar.from_ical(ics).walk("VEVENT"):
    values.append(
        {
            "summary": str(event["SUMMARY"]),
            "dtstart": event["DTSTART"].dt,
            "dtend": event["DTEND"].dt if "DTEND" in event else None,
            "dtstamp": event["DTSTAMP"].dt,
            "uid": str(event["UID"]),
            "sequence": int(event["SEQUENCE"]),
            "description": str(event["DESCRIPTION"]),
            "location": str(event["LOCATION"]) if "LOCATION" in event else None,
            "status": str(event["STATUS"]),
            "transp": str(event["TRANSP"]),
            "url": str(event["URL"]),
        }
    )


def with_icalendar(v: dict[str, Any]) -> bytes:
    event = Event()
    event.add("summary", v["summary"])
    timed = {"TZID": TZID} if isinstance(v["dtstart"], dt.datetime) else {}
    event.add("dtstart", v["dtstart"], parameters=timed)
    if v["dtend"] is not None:
        event.add("dtend", v["dtend"], parameters=timed)
    event.add("dtstamp", v["dtstamp"])
    event.add("uid", v["uid"])
    event.add("sequence", v["sequence"])
    event.add("description", v["description"])
    if v["location"]:
        event.add("location", v["location"])
    event.add("status", v["status"])
    event.add("transp", v["transp"])
    event.add("url", v["url"], parameters={"VALUE": "URI"})
    written: bytes = event.to_ical()
    return written


def _text(value: str) -> str:
    escaped: bytes = vText(value).to_ical()
    return escaped.decode("utf-8")


def as_we_do(v: dict[str, Any]) -> bytes:
    start, end = v["dtstart"], v["dtend"]
    if isinstance(start, dt.datetime):
        first = f"DTSTART;TZID={TZID}:{start:%Y%m%dT%H%M%S}"
        last = f"DTEND;TZID={TZID}:{end:%Y%m%dT%H%M%S}" if end is not None else None
    else:
        first = f"DTSTART;VALUE=DATE:{start:%Y%m%d}"
        last = f"DTEND;VALUE=DATE:{end:%Y%m%d}" if end is not None else None
    lines = (
        f"SUMMARY:{_text(v['summary'])}",
        first,
        last,
        f"DTSTAMP:{v['dtstamp']:%Y%m%dT%H%M%SZ}",
        f"UID:{_text(v['uid'])}",
        f"SEQUENCE:{v['sequence']}",
        f"DESCRIPTION:{_text(v['description'])}",
        f"LOCATION:{_text(v['location'])}" if v["location"] else None,
        f"STATUS:{v['status']}",
        f"TRANSP:{v['transp']}",
        f"URL;VALUE=URI:{v['url']}",
    )
    body = "".join(fold(line) + "\r\n" for line in lines if line)
    return f"BEGIN:VEVENT\r\n{body}END:VEVENT\r\n".encode()


def best(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


same = sum(with_icalendar(v) == as_we_do(v) for v in values)
print(f"{len(values)} events, {same} byte-identical written both ways")
theirs = best(lambda: [with_icalendar(v) for v in values], 3)
ours = best(lambda: [as_we_do(v) for v in values], 5)
print(
    f"whole events, CPU: icalendar Event {theirs:.2f} s ({theirs / len(values) * 1e6:.0f} µs "
    f"an event), ours {ours:.2f} s ({ours / len(values) * 1e6:.0f} µs): {theirs / ours:.1f}x"
)
lines = [line for line in ics.decode().replace("\r\n ", "").split("\r\n") if line]
assert all(foldline(line) == fold(line) for line in lines)
longer = sum(len(line.encode()) > 75 for line in lines)
theirs = best(lambda: [foldline(line) for line in lines], 3)
ours = best(lambda: [fold(line) for line in lines], 5)
print(
    f"folding alone, {len(lines)} content lines ({longer} over 75 octets), the same result "
    f"for every one: icalendar {theirs / len(lines) * 1e6:.1f} µs a line, "
    f"ours {ours / len(lines) * 1e6:.2f} µs: {theirs / ours:.0f}x"
)
