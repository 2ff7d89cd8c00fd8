"""Spans of time in seconds, for device drift (a conductance read a minute or a year after programming)."""

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
YEAR = 365.25 * DAY
MONTH = YEAR / 12
