"""Turning plans into the static site: pages, feeds, calendars and JSON."""
