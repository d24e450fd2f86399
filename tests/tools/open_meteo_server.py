"""A small Open-Meteo look-alike on 127.0.0.1 (http.server in a thread) for the weather tool's tests.

Responses use the field names of the public API documentation: the geocoding API answers
`{"results": [{id, name, latitude, longitude, elevation, feature_code, country_code, country, admin1,
timezone, population}], "generationtime_ms"}` (no `results` key when nothing matches), and the forecast API
answers `{latitude, longitude, timezone, elevation, current_units, current, daily_units, daily}`; a bad
request gets HTTP 400 with `{"error": true, "reason": "..."}`.

`server.script` holds per-path behaviour overrides that tests set: a list of steps consumed one per
request, each a dict such as {"status": 503}, {"sleep": 2.0}, {"body": b"not json"}, {"redirect": URL}.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PLACES: list[dict[str, Any]] = [
    {
        "id": 2950159,
        "name": "Berlin",
        "latitude": 52.52437,
        "longitude": 13.41053,
        "elevation": 74.0,
        "feature_code": "PPLC",
        "country_code": "DE",
        "country": "Germany",
        "admin1": "Land Berlin",
        "timezone": "Europe/Berlin",
        "population": 3426354,
    },
    {
        "id": 2988507,
        "name": "Paris",
        "latitude": 48.85341,
        "longitude": 2.3488,
        "elevation": 42.0,
        "feature_code": "PPLC",
        "country_code": "FR",
        "country": "France",
        "admin1": "Île-de-France",
        "timezone": "Europe/Paris",
        "population": 2138551,
    },
    {
        "id": 4717560,
        "name": "Paris",
        "latitude": 33.66094,
        "longitude": -95.55551,
        "elevation": 180.0,
        "feature_code": "PPLA2",
        "country_code": "US",
        "country": "United States",
        "admin1": "Texas",
        "timezone": "America/Chicago",
        "population": 24782,
    },
    {
        "id": 4409896,
        "name": "Springfield",
        "latitude": 37.21533,
        "longitude": -93.29824,
        "elevation": 396.0,
        "feature_code": "PPLA2",
        "country_code": "US",
        "country": "United States",
        "admin1": "Missouri",
        "timezone": "America/Chicago",
        "population": 169176,
    },
    {
        "id": 4951788,
        "name": "Springfield",
        "latitude": 42.10148,
        "longitude": -72.58981,
        "elevation": 21.0,
        "feature_code": "PPLA2",
        "country_code": "US",
        "country": "United States",
        "admin1": "Massachusetts",
        "timezone": "America/New_York",
        "population": 155929,
    },
    {
        "id": 4250542,
        "name": "Springfield",
        "latitude": 39.80172,
        "longitude": -89.64371,
        "elevation": 182.0,
        "feature_code": "PPLA",
        "country_code": "US",
        "country": "United States",
        "admin1": "Illinois",
        "timezone": "America/Chicago",
        "population": 116565,
    },
]


def forecast(params: dict[str, str]) -> dict[str, Any]:
    days = int(params.get("forecast_days", "7"))
    imperial = params.get("temperature_unit") == "fahrenheit"
    temp_unit, wind_unit, rain_unit = ("°F", "mph", "inch") if imperial else ("°C", "km/h", "mm")
    base = 50.0 if imperial else 10.0
    dates = [f"2026-11-{23 + i:02d}" if 23 + i <= 30 else f"2026-12-{23 + i - 30:02d}" for i in range(days)]
    return {
        "latitude": float(params["latitude"]),
        "longitude": float(params["longitude"]),
        "generationtime_ms": 0.1,
        "utc_offset_seconds": 3600,
        "timezone": "Europe/Berlin",
        "timezone_abbreviation": "CET",
        "elevation": 74.0,
        "current_units": {
            "time": "iso8601",
            "interval": "seconds",
            "temperature_2m": temp_unit,
            "apparent_temperature": temp_unit,
            "relative_humidity_2m": "%",
            "precipitation": rain_unit,
            "wind_speed_10m": wind_unit,
            "wind_direction_10m": "°",
            "weather_code": "wmo code",
        },
        "current": {
            "time": "2026-11-23T15:00",
            "interval": 900,
            "temperature_2m": base + 1.5,
            "apparent_temperature": base - 0.5,
            "relative_humidity_2m": 81,
            "precipitation": 0.0,
            "wind_speed_10m": 14.3,
            "wind_direction_10m": 250,
            "weather_code": 3,
        },
        "daily_units": {
            "time": "iso8601",
            "weather_code": "wmo code",
            "temperature_2m_max": temp_unit,
            "temperature_2m_min": temp_unit,
            "precipitation_sum": rain_unit,
            "precipitation_probability_max": "%",
            "wind_speed_10m_max": wind_unit,
        },
        "daily": {
            "time": dates,
            "weather_code": [61] * days,
            "temperature_2m_max": [base + 3] * days,
            "temperature_2m_min": [base - 2] * days,
            "precipitation_sum": [1.2] * days,
            "precipitation_probability_max": [70] * days,
            "wind_speed_10m_max": [22.0] * days,
        },
    }


class FakeOpenMeteo:
    def __init__(self) -> None:
        self.script: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeOpenMeteo:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                fake.requests.append((parts.path, params))
                steps = fake.script.get(parts.path)
                step = steps.pop(0) if steps else {}
                if "sleep" in step:
                    time.sleep(step["sleep"])
                if "redirect" in step:
                    self.send_response(302)
                    self.send_header("Location", step["redirect"])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if "status" in step:
                    self._send(
                        step["status"],
                        step.get("body", b'{"error": true, "reason": "scripted"}'),
                        step.get("headers", {}),
                    )
                    return
                if "body" in step:
                    self._send(200, step["body"])
                    return
                if parts.path == "/v1/search":
                    matches = [p for p in PLACES if p["name"].lower() == params.get("name", "").lower()]
                    body: dict[str, Any] = {"generationtime_ms": 0.2}
                    if matches:
                        body["results"] = matches
                    self._send(200, json.dumps(body).encode())
                elif parts.path == "/v1/forecast":
                    if "latitude" not in params:
                        self._send(400, b'{"error": true, "reason": "Parameter latitude is missing"}')
                        return
                    self._send(200, json.dumps(forecast(params)).encode())
                else:
                    self._send(404, b'{"error": true, "reason": "not found"}')

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                try:
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (the slow-server test): nothing to answer

        return Handler
