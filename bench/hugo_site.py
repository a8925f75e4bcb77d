"""The anchor for the England benchmark: the same opportunities as a Hugo site.

One page per opportunity (its plan values as front matter, its summary as the body), four
taxonomies (place, theme, commissioner, funding) with a list page and an RSS feed per
term, list pages paged like ours (8 cards a page, at most 50 pages a list), feeds capped
like ours (the newest 200 items). A place term carries every opportunity the publisher's
place list carries: those for the place, for places inside it, and for the places it is
part of. Hugo is Debian's `hugo` package (0.111 on bookworm); nothing here installs it.

With `every_format`, the home page and each term also get what the publisher writes for
each list besides its pages and RSS: an Atom feed (the newest 200), an iCalendar file
(each opportunity's dated steps and events), JSON (every opportunity's values) and CSV
(a row each). That is the same work as ours, file for file; the plain site is the anchor
the issue set (pages and RSS only), a tenth of the bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from publisher.plans.england import england_places

CONFIG = """\
baseURL = "https://example.org/"
title = "Forward plans"
languageCode = "en-gb"
paginate = 8
rssLimit = 200
disableKinds = ["sitemap", "robotsTXT", "404"]

[taxonomies]
  place = "places"
  theme = "themes"
  commissioner = "commissioners"
  funding = "funding"

[outputs]
  home = ["HTML", "RSS"]
  section = ["HTML", "RSS"]
  taxonomy = ["HTML"]
  term = ["HTML", "RSS"]
"""

# What every list writes besides its pages and RSS (`every_format`): Hugo's own Calendar
# and JSON formats, and Atom and CSV as formats of the site's.
EVERY_FORMAT = """\
[mediaTypes."application/atom+xml"]
  suffixes = ["atom"]
[mediaTypes."text/csv"]
  suffixes = ["csv"]

[outputFormats.Atom]
  mediaType = "application/atom+xml"
  baseName = "index"
  rel = "alternate"
[outputFormats.CSV]
  mediaType = "text/csv"
  baseName = "index"
  isPlainText = true

[outputs]
  home = ["HTML", "RSS", "Atom", "Calendar", "JSON", "CSV"]
  section = ["HTML", "RSS"]
  taxonomy = ["HTML"]
  term = ["HTML", "RSS", "Atom", "Calendar", "JSON", "CSV"]
"""

BASEOF = """\
<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ .Title }} | {{ .Site.Title }}</title>
{{ range .AlternativeOutputFormats }}<link rel="{{ .Rel }}" type="{{ .MediaType.Type }}" \
href="{{ .Permalink }}">{{ end }}
</head><body>
<header><a href="{{ "/" | relURL }}">{{ .Site.Title }}</a>
<nav>{{ range $name, $t := .Site.Taxonomies }}<a href="{{ printf "/%s/" $name | relURL }}">\
{{ $name | humanize }}</a> {{ end }}</nav></header>
<main>{{ block "main" . }}{{ end }}</main>
<footer>Made from the commissioners' forward plans.</footer>
</body></html>
"""

SINGLE = """\
{{ define "main" }}
<article>
<h1>{{ .Title }}</h1>
<p>{{ .Params.status_words }} &middot; {{ .Params.commissioner_name }}</p>
{{ .Content }}
<dl>
<dt>Where</dt><dd>{{ range .Params.where_slugs }}<a href="{{ printf "/places/%s/" . \
| relURL }}">{{ index $.Params.where_names . }}</a> {{ end }}</dd>
<dt>Themes</dt><dd>{{ range .GetTerms "themes" }}<a href="{{ .RelPermalink }}">\
{{ .LinkTitle }}</a> {{ end }}</dd>
<dt>Funding</dt><dd>{{ range .GetTerms "funding" }}{{ .LinkTitle }}{{ end }}</dd>
<dt>How the provider will be chosen</dt><dd>{{ .Params.route }}</dd>
{{ with .Params.value }}<dt>Value</dt><dd>{{ range $k, $v := . }}{{ $k | humanize }}: \
{{ if reflect.IsMap $v }}{{ range $kk, $vv := $v }}{{ $kk }} &pound;{{ lang.FormatNumber 0 $vv }} \
{{ end }}{{ else }}&pound;{{ lang.FormatNumber 0 $v }} {{ end }}{{ end }}</dd>{{ end }}
{{ with .Params.duration }}<dt>Length</dt><dd>{{ range $k, $v := . }}{{ $v }} \
{{ $k | humanize }} {{ end }}</dd>{{ end }}
{{ range $k, $v := .Params.dates }}{{ if ne $k "engagement" }}<dt>{{ $k | humanize }}</dt>\
<dd>{{ $v }}</dd>{{ end }}{{ end }}
</dl>
{{ with .Params.dates.engagement }}<h2>Events</h2><ul>{{ range . }}<li>{{ .title }}: \
{{ .start }}{{ with .where }}, {{ . }}{{ end }}</li>{{ end }}</ul>{{ end }}
{{ with .Params.unknown }}<h2>What we don't know yet</h2><dl>{{ range $k, $v := . }}\
<dt>{{ $k | humanize }}</dt><dd>{{ $v }}</dd>{{ end }}</dl>{{ end }}
{{ with .Params.requirements }}<h2>What bidders need</h2><ul>{{ range $k, $v := . }}\
<li>{{ $k | humanize }}{{ if reflect.IsMap $v }}{{ with index $v "why" }}: {{ . }}{{ end }}\
{{ end }}</li>{{ end }}</ul>{{ end }}
{{ with .Params.lots }}<h2>Lots</h2><ul>{{ range . }}<li>{{ .title }}</li>{{ end }}</ul>\
{{ end }}
{{ with .Params.contact }}<p>Contact: {{ .name }} {{ .email }}</p>{{ end }}
</article>
{{ end }}
"""

CARD = """\
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a><br>{{ .Params.status_words }} \
&middot; {{ .Params.commissioner_name }} &middot; \
{{ with .Params.where }}{{ delimit . ", " }}{{ end }}\
{{ with .Params.dates.tender_opens }}&middot; opens {{ . }}\
{{ end }}</li>
"""

LIST = """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
{{ $pages := cond .IsHome .Site.RegularPages .Pages }}
{{ $pager := .Paginate (first 400 $pages) }}
<p>{{ len $pages }} opportunities</p>
<ul>{{ range $pager.Pages }}{{ partial "card.html" . }}{{ end }}</ul>
{{ template "_internal/pagination.html" . }}
{{ end }}
"""

TERMS = """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul>{{ range .Data.Terms.ByTerm }}<li><a href="{{ .Page.RelPermalink }}">\
{{ .Page.LinkTitle }}</a> ({{ .Count }})</li>{{ end }}</ul>
{{ end }}
"""

LAYOUTS = {
    "_default/baseof.html": BASEOF,
    "_default/single.html": SINGLE,
    "_default/list.html": LIST,
    "_default/terms.html": TERMS,
    "partials/card.html": CARD,
}

ATOM = """\
{{ printf `<?xml version="1.0" encoding="utf-8"?>` | safeHTML }}
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-GB">
  <id>{{ .Permalink }}</id>
  <title>{{ .Title }} | {{ .Site.Title }}</title>
  <updated>{{ now.Format "2006-01-02T15:04:05Z07:00" }}</updated>
  <link href="{{ .Permalink }}" rel="self"/>
{{- $pages := cond .IsHome .Site.RegularPages .Pages }}
{{- range first 200 $pages.ByDate.Reverse }}
  <entry>
    <id>{{ .Permalink }}</id>
    <title>{{ .Title }}</title>
    <updated>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</updated>
    <author><name>{{ .Params.commissioner_name }}</name></author>
    <content type="html">{{ printf "<p>%s</p><p>Who: %s. Where: %s.</p><p><a href=\\"%s\\">\
Read the full notice</a></p>" .Params.summary .Params.commissioner_name \
(delimit .Params.where ", ") .Permalink }}</content>
    <link href="{{ .Permalink }}"/>
    <summary>{{ .Params.summary }}</summary>
  </entry>
{{- end }}
</feed>
"""

CALENDAR = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Forward plans//Hugo//EN
X-WR-CALNAME:{{ .Title }}
{{- $pages := cond .IsHome .Site.RegularPages .Pages }}
{{- range $pages }}{{ $page := . }}{{ range .Params.calendar }}
BEGIN:VEVENT
UID:{{ $page.File.ContentBaseName }}-{{ .kind }}@example.org
DTSTAMP:20261207T000000Z
DTSTART;VALUE=DATE:{{ .day }}
SUMMARY:{{ .what }} – {{ $page.Title }}
DESCRIPTION:{{ $page.Params.summary }}
URL:{{ $page.Permalink }}
END:VEVENT{{ end }}{{ end }}
END:VCALENDAR
"""

JSON = """\
{"title": {{ .Title | jsonify }}, "opportunities": [
{{- $pages := cond .IsHome .Site.RegularPages .Pages }}
{{- range $i, $page := $pages }}{{ if $i }},{{ end }}
{{ dict "url" $page.Permalink "title" $page.Title "values" $page.Params | jsonify }}
{{- end }}]}
"""

CSV = """\
title,commissioner,status,where,themes,funding,route,summary,url
{{- $pages := cond .IsHome .Site.RegularPages .Pages }}
{{- range $pages }}
"{{ replace .Title `"` `""` }}","{{ replace .Params.commissioner_name `"` `""` }}",\
{{ .Params.status_words }},"{{ delimit .Params.where "; " }}",{{ delimit .Params.themes "; " }},\
{{ delimit .Params.funding "; " }},{{ .Params.route }},"{{ replace .Params.summary `"` `""` }}",\
{{ .Permalink }}
{{- end }}
"""

EVERY_FORMAT_LAYOUTS = {
    "_default/list.atom.atom": ATOM,
    "_default/list.calendar.ics": CALENDAR,
    "_default/list.json.json": JSON,
    "_default/list.csv.csv": CSV,
}


def _calendar(dates: dict[str, Any]) -> list[dict[str, str]]:
    """An opportunity's dated steps and events as the calendar template lists them: each
    step with a day (a month alone is not one), then each event."""
    found = [
        {
            "kind": kind,
            "what": kind.replace("_", " ").capitalize(),
            "day": str(day).replace("-", ""),
        }
        for kind, day in dates.items()
        if kind != "engagement" and len(str(day)) == 10
    ]
    for number, event in enumerate(dates.get("engagement") or []):
        day = str(event.get("start", ""))[:10].replace("-", "")
        found.append({"kind": f"event-{number}", "what": event.get("title", "Event"), "day": day})
    return found


def _reach(
    places: dict[str, dict[str, Any]],
    named: list[str],
    children: dict[str, list[str]] | None = None,
) -> list[str]:
    """The places whose lists carry an opportunity for `named` (as model.from_plan.reach
    works it out): each named place, the places it is part of and the places
    inside it, when `children` (place -> the places directly inside it) is given)."""
    out: set[str] = set()
    for name in named:
        slug = name
        while slug in places and slug not in out:
            out.add(slug)
            slug = places[slug].get("within") or ""
    todo = [s for s in named if s in places] if children is not None else []
    while todo:
        assert children is not None
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return sorted(out)


def write_site(plans: Path, site: Path, date: str, every_format: bool = False) -> int:
    """A Hugo site in `site` from the plans folder; the number of opportunity pages. With
    `every_format`, each list is also written as Atom, iCalendar, JSON and CSV."""
    if site.exists():
        shutil.rmtree(site)
    layouts = {**LAYOUTS, **(EVERY_FORMAT_LAYOUTS if every_format else {})}
    for name, text in layouts.items():
        (site / "layouts" / name).parent.mkdir(parents=True, exist_ok=True)
        (site / "layouts" / name).write_text(text, encoding="utf-8")
    config = CONFIG
    if every_format:
        config = CONFIG[: CONFIG.index("[outputs]")] + EVERY_FORMAT
    (site / "config.toml").write_text(config, encoding="utf-8")
    content = site / "content"
    (content / "opportunities").mkdir(parents=True)
    loader = yaml.CSafeLoader
    # England's places (shipped with the publisher) and the folder's own, as the site has
    # them; the site lists its own places and the ones plans name, with those they are in.
    places: dict[str, dict[str, Any]] = {
        slug: {"name": p.name, "within": p.within} for slug, p in england_places().items()
    }
    raw = yaml.load((plans / "places.yaml").read_text(encoding="utf-8"), Loader=loader)
    for place in raw["places"]:
        within = place.get("within") or places.get(place["slug"], {}).get("within")
        places[place["slug"]] = {"name": place["name"], "within": within}
    paths = [p for p in sorted(plans.glob("*.y*ml")) if p.stem not in ("places", "themes")]
    docs = [yaml.load(p.read_text(encoding="utf-8"), Loader=loader) for p in paths]
    named = {slug for doc in docs for item in doc["opportunities"] for slug in item["places"]}
    listed = set(_reach(places, [p["slug"] for p in raw["places"]]))
    listed |= set(_reach(places, sorted(named)))
    children: dict[str, list[str]] = {}
    for slug, place in places.items():
        children.setdefault(place["within"] or "", []).append(slug)
    for slug in sorted(listed):
        _index(content / "places" / slug, places[slug]["name"])
    count = 0
    for plan in docs:
        body = plan["commissioner"]
        _index(content / "commissioners" / body["id"], body["name"])
        for item in plan["opportunities"]:
            own = item.get("places", [])
            front = {
                "title": item["title"],
                "date": date,
                "summary": item.get("summary", ""),
                "places": [p for p in _reach(places, own, children) if p in listed],
                "where": [places[p]["name"] for p in own if p in places],
                "where_slugs": own,
                "where_names": {p: places[p]["name"] for p in own if p in places},
                "themes": item.get("themes", []),
                "commissioners": [body["id"]],
                "funding": [item["funding"]] if item.get("funding") else [],
                "commissioner_name": body["name"],
                "status_words": item["status"].capitalize(),
                **{
                    k: item[k]
                    for k in ("route", "value", "duration", "dates", "unknown", "lots")
                    if k in item
                },
                **{k: item[k] for k in ("requirements", "contact") if k in item},
            }
            if every_format:
                front["calendar"] = _calendar(item.get("dates") or {})
            text = yaml.dump(front, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)
            page = content / "opportunities" / f"{body['id']}--{item['id']}.md"
            page.write_text(f"---\n{text}---\n\n{item.get('summary', '')}\n", encoding="utf-8")
            count += 1
    return count


def _index(folder: Path, title: str) -> None:
    """A term's own page, so its list is titled with the name, not the slug."""
    if not folder.exists():
        folder.mkdir(parents=True)
        (folder / "_index.md").write_text(f"---\ntitle: {title!r}\n---\n", encoding="utf-8")
