"""The weather tool against a real HTTP server on 127.0.0.1 that speaks Open-Meteo's shapes."""

from __future__ import annotations

import socket
from typing import Any

import anyio
import pytest

from agentkit.errors import RetryTool, ToolError
from agentkit.tooling import Tool
from agentkit.tools.weather import WeatherClient, WeatherError, weather_tool

from .open_meteo_server import FakeOpenMeteo


def _tool(server: FakeOpenMeteo, **kwargs: Any) -> Tool:
    options: dict[str, Any] = {"timeout": 2.0, "retries": 2, "backoff": 0.01}
    options.update(kwargs)
    return weather_tool(geocoding_url=f"{server.url}/v1/search", forecast_url=f"{server.url}/v1/forecast", **options)


def _call(t: Tool, **arguments: Any) -> Any:
    return anyio.run(t.invoke, t.validate(arguments))


def test_place_name_gives_current_conditions_and_forecast(open_meteo: FakeOpenMeteo) -> None:
    result = _call(_tool(open_meteo), location="Berlin", days=5)
    assert result["location"]["name"] == "Berlin"
    assert result["location"]["country"] == "Germany"
    assert result["current"]["temperature"] == 11.5
    assert result["current"]["conditions"] == "Overcast"
    assert result["units"]["temperature"] == "°C"
    assert len(result["daily"]) == 5
    assert result["daily"][0] == {
        "date": "2026-11-23",
        "weather_code": 61,
        "temperature_max": 13.0,
        "temperature_min": 8.0,
        "precipitation_sum": 1.2,
        "precipitation_probability_max": 70,
        "wind_speed_max": 22.0,
        "conditions": "Slight rain",
    }
    forecast_params = next(p for path, p in open_meteo.requests if path == "/v1/forecast")
    assert forecast_params["latitude"] == "52.52437"
    assert forecast_params["forecast_days"] == "5"
    assert "temperature_2m" in forecast_params["current"]


def test_imperial_units_are_requested_and_reported(open_meteo: FakeOpenMeteo) -> None:
    result = _call(_tool(open_meteo), location="Berlin", units="imperial", days=1)
    params = next(p for path, p in open_meteo.requests if path == "/v1/forecast")
    assert params["temperature_unit"] == "fahrenheit"
    assert params["wind_speed_unit"] == "mph"
    assert params["precipitation_unit"] == "inch"
    assert result["units"]["temperature"] == "°F"
    assert result["current"]["temperature"] == 51.5


def test_coordinates_skip_geocoding(open_meteo: FakeOpenMeteo) -> None:
    t = _tool(open_meteo)
    by_fields = _call(t, latitude=48.85, longitude=2.35, days=2)
    by_text = _call(t, location="48.85, 2.35", days=2)
    assert by_fields["location"]["latitude"] == 48.85
    assert by_text["location"]["longitude"] == 2.35
    assert all(path == "/v1/forecast" for path, _ in open_meteo.requests)


def test_sixteen_days_is_the_schema_maximum(open_meteo: FakeOpenMeteo) -> None:
    t = _tool(open_meteo)
    assert len(_call(t, location="Berlin", days=16)["daily"]) == 16
    with pytest.raises(ToolError, match="days"):
        t.validate({"location": "Berlin", "days": 17})


def test_a_dominant_namesake_is_chosen(open_meteo: FakeOpenMeteo) -> None:
    assert _call(_tool(open_meteo), location="Paris")["location"]["country"] == "France"


def test_ambiguous_place_lists_candidates(open_meteo: FakeOpenMeteo) -> None:
    with pytest.raises(RetryTool) as info:
        _call(_tool(open_meteo), location="Springfield")
    message = str(info.value)
    assert "ambiguous" in message
    for region in ("Missouri", "Massachusetts", "Illinois"):
        assert region in message


def test_a_qualifier_after_a_comma_disambiguates(open_meteo: FakeOpenMeteo) -> None:
    result = _call(_tool(open_meteo), location="Springfield, Illinois")
    assert result["location"]["region"] == "Illinois"
    assert result["location"]["latitude"] == 39.80172
    assert _call(_tool(open_meteo), location="Paris, US")["location"]["region"] == "Texas"


def test_unknown_place(open_meteo: FakeOpenMeteo) -> None:
    with pytest.raises(RetryTool, match="no place called 'Atlantis'"):
        _call(_tool(open_meteo), location="Atlantis")
    with pytest.raises(RetryTool, match="no place called"):
        _call(_tool(open_meteo), location="Berlin, Narnia")


def test_missing_location_and_half_coordinates(open_meteo: FakeOpenMeteo) -> None:
    with pytest.raises(RetryTool, match="say where"):
        _call(_tool(open_meteo))
    with pytest.raises(RetryTool, match="both latitude and longitude"):
        _call(_tool(open_meteo), latitude=10.0)


def test_retries_5xx_and_429_then_succeeds(open_meteo: FakeOpenMeteo) -> None:
    open_meteo.script["/v1/forecast"] = [{"status": 503}, {"status": 429, "headers": {"Retry-After": "0"}}]
    result = _call(_tool(open_meteo), latitude=1.0, longitude=2.0, days=1)
    assert result["current"]["conditions"] == "Overcast"
    assert sum(1 for path, _ in open_meteo.requests if path == "/v1/forecast") == 3


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_non_finite_retry_after_is_treated_as_absent(open_meteo: FakeOpenMeteo, value: str) -> None:
    open_meteo.script["/v1/forecast"] = [{"status": 429, "headers": {"Retry-After": value}}]
    result = _call(_tool(open_meteo), latitude=1.0, longitude=2.0, days=1)
    assert result["current"]["conditions"] == "Overcast"
    assert sum(1 for path, _ in open_meteo.requests if path == "/v1/forecast") == 2


def test_a_broken_content_encoding_is_a_clear_error(open_meteo: FakeOpenMeteo) -> None:
    broken = {"status": 200, "body": b"not really gzip", "headers": {"Content-Encoding": "gzip"}}
    open_meteo.script["/v1/forecast"] = [broken]
    with pytest.raises(WeatherError, match="sent a response that cannot be read"):
        _call(_tool(open_meteo), latitude=1.0, longitude=2.0)


def test_gives_up_after_the_retry_budget(open_meteo: FakeOpenMeteo) -> None:
    open_meteo.script["/v1/forecast"] = [{"status": 500}] * 5
    with pytest.raises(WeatherError, match="HTTP 500"):
        _call(_tool(open_meteo, retries=1), latitude=1.0, longitude=2.0)
    assert sum(1 for path, _ in open_meteo.requests if path == "/v1/forecast") == 2


def test_a_4xx_reason_is_reported_without_retrying(open_meteo: FakeOpenMeteo) -> None:
    body = b'{"error": true, "reason": "Latitude must be in range of -90 to 90"}'
    open_meteo.script["/v1/forecast"] = [{"status": 400, "body": body}]
    with pytest.raises(WeatherError, match="HTTP 400: Latitude must be in range"):
        _call(_tool(open_meteo), latitude=1.0, longitude=2.0)
    assert len(open_meteo.requests) == 1


def test_connection_refused_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    t = weather_tool(
        geocoding_url=f"http://127.0.0.1:{port}/v1/search",
        forecast_url=f"http://127.0.0.1:{port}/v1/forecast",
        retries=1,
        backoff=0.01,
    )
    with pytest.raises(WeatherError, match=r"cannot reach the weather service at 127\.0\.0\.1 .*connection refused"):
        _call(t, location="Berlin")


def test_a_slow_server_times_out(open_meteo: FakeOpenMeteo) -> None:
    open_meteo.script["/v1/search"] = [{"sleep": 1.0}]
    with pytest.raises(WeatherError, match=r"did not answer within 0\.3 s"):
        _call(_tool(open_meteo, timeout=0.3), location="Berlin")


@pytest.mark.parametrize(
    "body, message",
    [
        (b"<html>oops</html>", "not JSON"),
        (b'{"latitude": 1}', "missing 'current' or 'daily'"),
        (b'{"current": {}, "daily": {"time": ["2026-11-23"], "weather_code": []}}', "daily.weather_code"),
    ],
)
def test_malformed_forecast_responses(open_meteo: FakeOpenMeteo, body: bytes, message: str) -> None:
    open_meteo.script["/v1/forecast"] = [{"body": body}]
    with pytest.raises(WeatherError, match=message):
        _call(_tool(open_meteo), latitude=1.0, longitude=2.0)


def test_malformed_geocoding_response(open_meteo: FakeOpenMeteo) -> None:
    open_meteo.script["/v1/search"] = [{"body": b'{"results": "nope"}'}]
    with pytest.raises(WeatherError, match="geocoding service sent a malformed response"):
        _call(_tool(open_meteo), location="Berlin")


def test_response_size_cap(open_meteo: FakeOpenMeteo) -> None:
    open_meteo.script["/v1/forecast"] = [{"body": b'{"pad": "' + b"x" * 5000 + b'"}'}]
    with pytest.raises(WeatherError, match="over the 1000-byte cap"):
        _call(_tool(open_meteo, max_bytes=1000), latitude=1.0, longitude=2.0)


def test_redirects_stay_on_the_same_host(open_meteo: FakeOpenMeteo) -> None:
    open_meteo.script["/v1/forecast"] = [{"redirect": "http://example.invalid/v1/forecast"}]
    with pytest.raises(WeatherError, match="redirected to another host"):
        _call(_tool(open_meteo), latitude=1.0, longitude=2.0)
    open_meteo.script["/v1/forecast"] = [{"redirect": f"{open_meteo.url}/v1/forecast?latitude=1&longitude=2"}]
    assert _call(_tool(open_meteo), latitude=1.0, longitude=2.0)["current"]["temperature"] == 11.5


def test_urls_come_from_the_environment(open_meteo: FakeOpenMeteo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTKIT_WEATHER_GEOCODING_URL", f"{open_meteo.url}/v1/search")
    monkeypatch.setenv("AGENTKIT_WEATHER_FORECAST_URL", f"{open_meteo.url}/v1/forecast")
    client = WeatherClient(backoff=0.01)
    assert client.hosts == ("127.0.0.1",)
    assert client.weather(location="Berlin", days=1)["location"]["name"] == "Berlin"


def test_needs_declare_only_the_configured_hosts() -> None:
    t = weather_tool(geocoding_url="https://geo.example/v1/search", forecast_url="https://wx.example/v1/forecast")
    assert t.needs.network_hosts == ("geo.example", "wx.example")
    assert not t.needs.read_paths and not t.needs.code_execution
    default = weather_tool()
    assert default.needs.network_hosts == ("geocoding-api.open-meteo.com", "api.open-meteo.com")
