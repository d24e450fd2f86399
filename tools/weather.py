"""The `weather` tool: current conditions and a daily forecast (up to 16 days) from Open-Meteo.

A place name is resolved with the Open-Meteo geocoding API, then the forecast API is asked for current
conditions and daily values; neither needs a key. Configuration (constructor arguments first, then
environment variables):

    AGENTKIT_WEATHER_GEOCODING_URL   default https://geocoding-api.open-meteo.com/v1/search
    AGENTKIT_WEATHER_FORECAST_URL    default https://api.open-meteo.com/v1/forecast

The HTTP side is defensive: connect/read timeouts, retries with exponential backoff on 429 and 5xx (honouring
Retry-After up to a cap), a cap on the response size, and redirects followed only within the same host.
Every failure (unknown or ambiguous place, network down, slow or broken server) becomes a `ToolError` whose
message says what happened and what to try; nothing escapes as a raw exception.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from agentkit.errors import RetryTool, ToolError, clip
from agentkit.tooling import Needs, Tool

__all__ = ["DEFAULT_FORECAST_URL", "DEFAULT_GEOCODING_URL", "WeatherClient", "WeatherError", "weather_tool"]

DEFAULT_GEOCODING_URL = "https://geocoding-api.open-meteo.com/v1/search"
DEFAULT_FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
_MAX_REDIRECTS = 3
_MAX_RETRY_AFTER = 10.0
_DOMINANT_POPULATION = 5  # a namesake this many times larger than the next is "the" place (Paris, France)
_COORDINATES = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*[, ]\s*([-+]?\d+(?:\.\d+)?)\s*$")

_CURRENT_FIELDS = {
    "temperature_2m": "temperature",
    "apparent_temperature": "feels_like",
    "relative_humidity_2m": "humidity",
    "precipitation": "precipitation",
    "wind_speed_10m": "wind_speed",
    "wind_direction_10m": "wind_direction",
    "weather_code": "weather_code",
}
_DAILY_FIELDS = {
    "weather_code": "weather_code",
    "temperature_2m_max": "temperature_max",
    "temperature_2m_min": "temperature_min",
    "precipitation_sum": "precipitation_sum",
    "precipitation_probability_max": "precipitation_probability_max",
    "wind_speed_10m_max": "wind_speed_max",
}
_IMPERIAL = {"temperature_unit": "fahrenheit", "wind_speed_unit": "mph", "precipitation_unit": "inch"}

# WMO weather interpretation codes, as Open-Meteo documents them
_WMO = {
    0: "Clear sky",
    1: "Mainly clear",
    2: "Partly cloudy",
    3: "Overcast",
    45: "Fog",
    48: "Depositing rime fog",
    51: "Light drizzle",
    53: "Moderate drizzle",
    55: "Dense drizzle",
    56: "Light freezing drizzle",
    57: "Dense freezing drizzle",
    61: "Slight rain",
    63: "Moderate rain",
    65: "Heavy rain",
    66: "Light freezing rain",
    67: "Heavy freezing rain",
    71: "Slight snowfall",
    73: "Moderate snowfall",
    75: "Heavy snowfall",
    77: "Snow grains",
    80: "Slight rain showers",
    81: "Moderate rain showers",
    82: "Violent rain showers",
    85: "Slight snow showers",
    86: "Heavy snow showers",
    95: "Thunderstorm",
    96: "Thunderstorm with slight hail",
    99: "Thunderstorm with heavy hail",
}


class WeatherError(ToolError):
    """The weather service could not be reached or answered with something unusable."""


@dataclass(frozen=True, slots=True)
class _Place:
    name: str
    latitude: float
    longitude: float
    region: str | None = None
    country: str | None = None
    country_code: str | None = None

    def label(self) -> str:
        parts = [self.name, self.region, self.country]
        return ", ".join(p for p in parts if p) + f" ({self.latitude:.2f}, {self.longitude:.2f})"


class WeatherClient:
    """Open-Meteo over httpx: geocoding plus forecast, with timeouts, retries and a size cap."""

    def __init__(
        self,
        *,
        geocoding_url: str | None = None,
        forecast_url: str | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
        max_bytes: int = 2_000_000,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.geocoding_url = geocoding_url or os.environ.get("AGENTKIT_WEATHER_GEOCODING_URL") or DEFAULT_GEOCODING_URL
        self.forecast_url = forecast_url or os.environ.get("AGENTKIT_WEATHER_FORECAST_URL") or DEFAULT_FORECAST_URL
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_bytes = max_bytes
        self._sleep = sleep

    @property
    def hosts(self) -> tuple[str, ...]:
        names = [urlsplit(u).hostname or "" for u in (self.geocoding_url, self.forecast_url)]
        return tuple(dict.fromkeys(n for n in names if n))

    # ---- the tool's entry point ----------------------------------------------------------------------

    def weather(
        self,
        location: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        days: int = 3,
        units: str = "metric",
    ) -> dict[str, Any]:
        place = self._place(location, latitude, longitude)
        params: dict[str, Any] = {
            "latitude": place.latitude,
            "longitude": place.longitude,
            "current": ",".join(_CURRENT_FIELDS),
            "daily": ",".join(_DAILY_FIELDS),
            "timezone": "auto",
            "forecast_days": days,
        }
        if units == "imperial":
            params.update(_IMPERIAL)
        data = self.get_json(self.forecast_url, params)
        return _shape_forecast(place, data)

    def _place(self, location: str | None, latitude: float | None, longitude: float | None) -> _Place:
        if latitude is not None or longitude is not None:
            if latitude is None or longitude is None:
                raise RetryTool("give both latitude and longitude, or a place name in 'location'")
            return _Place(location or f"{latitude:.4f}, {longitude:.4f}", latitude, longitude)
        if not location or not location.strip():
            raise RetryTool("say where: pass 'location' (a place name such as 'Paris, France') or latitude+longitude")
        match = _COORDINATES.match(location)
        if match:
            lat, lon = float(match.group(1)), float(match.group(2))
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise RetryTool(
                    f"coordinates {clip(repr(location))} are out of range: latitude -90..90, longitude -180..180"
                )
            return _Place(location.strip(), lat, lon)
        return self.geocode(location)

    # ---- geocoding ---------------------------------------------------------------------------------

    def geocode(self, location: str) -> _Place:
        name, *qualifiers = [part.strip() for part in location.split(",") if part.strip()]
        data = self.get_json(self.geocoding_url, {"name": name, "count": 20, "language": "en", "format": "json"})
        if not isinstance(data, dict) or not isinstance(data.get("results", []), list):
            raise WeatherError("the geocoding service sent a malformed response (no 'results' list); try again later")
        candidates = [_candidate(item) for item in data.get("results", [])]
        found = [c for c, _ in candidates if c is not None]
        if qualifiers:
            found = [c for c in found if _matches(c, qualifiers)]
        if not found:
            raise RetryTool(
                f"no place called {clip(repr(location))} was found; check the spelling, add the country "
                "('Springfield, Illinois, United States'), or pass latitude and longitude"
            )
        return _choose(location, name, found, candidates)

    # ---- HTTP --------------------------------------------------------------------------------------

    def get_json(self, url: str, params: dict[str, Any]) -> Any:
        host = urlsplit(url).hostname or url
        attempt = 0
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            while True:
                try:
                    status, headers, body = self._fetch(client, url, params)
                except httpx.TimeoutException:
                    raise WeatherError(
                        f"the weather service at {host} did not answer within {self.timeout:g} s; try again later"
                    ) from None
                except httpx.TransportError as exc:
                    if attempt < self.retries:
                        attempt += 1
                        self._sleep(self.backoff * 2 ** (attempt - 1))
                        continue
                    raise WeatherError(
                        f"cannot reach the weather service at {host} ({_reason(exc)}); "
                        "the network may be down or the address wrong"
                    ) from None
                except httpx.HTTPError as exc:  # a broken Content-Encoding (DecodingError), too many redirects
                    raise WeatherError(
                        f"the weather service at {host} sent a response that cannot be read "
                        f"({type(exc).__name__}: {exc}); try again later"
                    ) from None
                if (status == 429 or status >= 500) and attempt < self.retries:
                    attempt += 1
                    self._sleep(_retry_delay(headers, self.backoff * 2 ** (attempt - 1)))
                    continue
                return _decode(host, status, body)

    def _fetch(self, client: httpx.Client, url: str, params: dict[str, Any] | None) -> tuple[int, httpx.Headers, bytes]:
        origin = urlsplit(url).netloc
        for _ in range(_MAX_REDIRECTS + 1):
            with client.stream("GET", url, params=params) as response:
                if response.is_redirect:
                    target = urljoin(str(response.url), response.headers.get("location", ""))
                    if urlsplit(target).netloc != origin:
                        raise WeatherError(f"the weather service redirected to another host ({target}); refused")
                    url, params = target, None
                    continue
                return response.status_code, response.headers, self._read_capped(response)
        raise WeatherError(f"the weather service redirected more than {_MAX_REDIRECTS} times; giving up")

    def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise WeatherError(f"the weather response is {declared} bytes, over the {self.max_bytes}-byte cap")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise WeatherError(f"the weather response is over the {self.max_bytes}-byte cap; refused")
            chunks.append(chunk)
        return b"".join(chunks)


# ---- helpers ----------------------------------------------------------------------------------------


def _reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    return "connection refused" if "refused" in text.lower() else text


def _retry_delay(headers: httpx.Headers, fallback: float) -> float:
    value = headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        return fallback
    if not math.isfinite(seconds):  # "nan" or "inf": as if absent
        return fallback
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def _decode(host: str, status: int, body: bytes) -> Any:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if status >= 400:
        reason = data.get("reason") if isinstance(data, dict) else None
        detail = f": {reason}" if reason else ""
        raise WeatherError(f"the weather service at {host} answered HTTP {status}{detail}")
    if data is None:
        raise WeatherError(f"the weather service at {host} sent a malformed response (not JSON); try again later")
    return data


def _candidate(item: Any) -> tuple[_Place | None, int]:
    if not isinstance(item, dict):
        return None, 0
    try:
        place = _Place(
            str(item["name"]),
            float(item["latitude"]),
            float(item["longitude"]),
            item.get("admin1") or None,
            item.get("country") or item.get("country_code") or None,
            item.get("country_code") or None,
        )
    except (KeyError, TypeError, ValueError):
        return None, 0
    population = item.get("population")
    return place, population if isinstance(population, int) else 0


def _matches(place: _Place, qualifiers: list[str]) -> bool:
    """Each qualifier after a comma must name (part of) the place's region or country."""
    words = [w.lower() for w in (place.region, place.country, place.country_code) if w]
    return all(any(q.lower() == w or q.lower() in w for w in words) for q in qualifiers)


def _choose(location: str, name: str, found: list[_Place], candidates: list[tuple[_Place | None, int]]) -> _Place:
    population = {id(p): pop for p, pop in candidates if p is not None}
    namesakes = [p for p in found if p.name.lower() == name.lower()] or found[:1]
    if len(namesakes) == 1:
        return namesakes[0]
    ranked = sorted(namesakes, key=lambda p: population.get(id(p), 0), reverse=True)
    first, second = population.get(id(ranked[0]), 0), population.get(id(ranked[1]), 0)
    if first > 0 and first >= _DOMINANT_POPULATION * second:
        return ranked[0]
    listing = "; ".join(p.label() for p in ranked[:8])
    raise RetryTool(
        f"{clip(repr(location))} is ambiguous: {len(ranked)} places match ({listing}). "
        "Call again with the region or country, e.g. 'Springfield, Illinois', or with latitude and longitude"
    )


def _shape_forecast(place: _Place, data: Any) -> dict[str, Any]:
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("current"), dict)
        or not isinstance(data.get("daily"), dict)
    ):
        raise WeatherError("the forecast service sent a malformed response (missing 'current' or 'daily')")
    current_raw, daily_raw = data["current"], data["daily"]
    dates = daily_raw.get("time")
    if not isinstance(dates, list):
        raise WeatherError("the forecast service sent a malformed response ('daily.time' is not a list)")
    current: dict[str, Any] = {"time": current_raw.get("time")}
    for field, key in _CURRENT_FIELDS.items():
        current[key] = current_raw.get(field)
    current["conditions"] = _WMO.get(current.get("weather_code"), "Unknown")  # type: ignore[arg-type]
    daily = []
    for index, date in enumerate(dates):
        day: dict[str, Any] = {"date": date}
        for field, key in _DAILY_FIELDS.items():
            values = daily_raw.get(field)
            if not isinstance(values, list) or len(values) != len(dates):
                raise WeatherError(f"the forecast service sent a malformed response ('daily.{field}' is missing)")
            day[key] = values[index]
        day["conditions"] = _WMO.get(day["weather_code"], "Unknown")
        daily.append(day)
    units_raw: dict[str, Any] = data["current_units"] if isinstance(data.get("current_units"), dict) else {}
    return {
        "location": {
            "name": place.name,
            "region": place.region,
            "country": place.country,
            "latitude": place.latitude,
            "longitude": place.longitude,
            "timezone": data.get("timezone"),
            "elevation": data.get("elevation"),
        },
        "units": {
            "temperature": units_raw.get("temperature_2m"),
            "wind_speed": units_raw.get("wind_speed_10m"),
            "precipitation": units_raw.get("precipitation"),
            "humidity": units_raw.get("relative_humidity_2m"),
        },
        "current": current,
        "daily": daily,
    }


_DESCRIPTION = """\
Current weather and a daily forecast (1-16 days) for a place, from Open-Meteo.
Pass either "location" (a place name; add region and/or country after commas to disambiguate, e.g.
"Springfield, Illinois" or "Paris, France"; or "lat,lon" such as "52.52,13.41") or both "latitude" and "longitude".
Returns JSON {"location", "units", "current": {temperature, feels_like, humidity, precipitation, wind_speed,
wind_direction, conditions}, "daily": [{date, conditions, temperature_max, temperature_min, precipitation_sum,
precipitation_probability_max, wind_speed_max}]}. An ambiguous name returns an error listing the candidates:
call again with one of them."""

_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "location": {
            "type": "string",
            "description": "Place name, optionally ', region, country' (e.g. 'Portland, Oregon'), or 'lat,lon'.",
            "minLength": 1,
            "maxLength": 200,
        },
        "latitude": {"type": "number", "minimum": -90, "maximum": 90, "description": "Latitude in degrees."},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180, "description": "Longitude in degrees."},
        "days": {
            "type": "integer",
            "minimum": 1,
            "maximum": 16,
            "default": 3,
            "description": "Forecast days including today (1-16, default 3).",
        },
        "units": {
            "type": "string",
            "enum": ["metric", "imperial"],
            "default": "metric",
            "description": "metric: °C, km/h, mm; imperial: °F, mph, inch.",
        },
    },
    "additionalProperties": False,
}


def weather_tool(
    *,
    geocoding_url: str | None = None,
    forecast_url: str | None = None,
    timeout: float = 10.0,
    retries: int = 2,
    backoff: float = 0.5,
    max_bytes: int = 2_000_000,
) -> Tool:
    """The `weather` Tool, bound to the given (or environment-configured) Open-Meteo endpoints."""
    client = WeatherClient(
        geocoding_url=geocoding_url,
        forecast_url=forecast_url,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        max_bytes=max_bytes,
    )
    deadline = timeout * 2 * (retries + 1) + backoff * 2 ** (retries + 1) + 5
    return Tool.from_schema(
        "weather", _DESCRIPTION, _SCHEMA, client.weather, needs=Needs(network_hosts=client.hosts), timeout=deadline
    )
