"""Spans of time in seconds, for device drift (a conductance read a minute or a year after programming)."""

#: the span the name says (a minute, an hour, a day), in seconds
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
#: a year of 365.25 days, in seconds
YEAR = 365.25 * DAY
#: a twelfth of a year, in seconds
MONTH = YEAR / 12
