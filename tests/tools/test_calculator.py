"""The calculator: exact answers where the input is exact, ~20-digit approximations, fast clear refusals."""

from __future__ import annotations

import math
from decimal import Decimal

import anyio
import pytest

from agentkit.errors import RetryTool, ToolError
from agentkit.tools.calculator import CalculatorError, calculate, calculator, calculator_tool


@pytest.mark.parametrize(
    "expression, exact, kind",
    [
        ("42 ^ 9", "406671383849472", "integer"),
        ("42 ** 9", "406671383849472", "integer"),
        ("2 ^ 3 ^ 2", "512", "integer"),
        ("-2 ^ 2", "-4", "integer"),
        ("0.1 + 0.2", "3/10", "rational"),
        ("1/3 + 1/6", "1/2", "rational"),
        ("2 ** -3", "1/8", "rational"),
        ("-7 // 2", "-4", "integer"),
        ("-7 % 3", "2", "integer"),
        ("2 × 3 ÷ 4", "3/2", "rational"),
        ("sqrt(42 ^ 9)", "3111696*sqrt(42)", "surd"),
        ("sqrt(1/2)", "sqrt(2)/2", "surd"),
        ("1 / sqrt(2)", "sqrt(2)/2", "surd"),
        ("sqrt(2) * sqrt(6)", "2*sqrt(3)", "surd"),
        ("sqrt(2) ^ 2", "2", "integer"),
        ("sqrt(8) - sqrt(2)", "sqrt(2)", "surd"),
        ("-sqrt(3)", "-sqrt(3)", "surd"),
        ("2 ^ 0.5", "sqrt(2)", "surd"),
        ("8 ^ (2/3)", "4", "integer"),
        ("(-8) ^ (1/3)", "-2", "integer"),
        ("cbrt(27/8)", "3/2", "rational"),
        ("hypot(3, 4)", "5", "integer"),
        ("factorial(20)", "2432902008176640000", "integer"),
        ("comb(52, 5)", "2598960", "integer"),
        ("perm(5, 2)", "20", "integer"),
        ("gcd(12, 18, 27)", "3", "integer"),
        ("lcm(4, 6)", "12", "integer"),
        ("log(1000, 10)", "3", "integer"),
        ("log2(1024)", "10", "integer"),
        ("log10(0.001)", "-3", "integer"),
        ("ln(1)", "0", "integer"),
        ("exp(0)", "1", "integer"),
        ("sin(0) + cos(0)", "1", "integer"),
        ("abs(-5/2)", "5/2", "rational"),
        ("floor(-2.5)", "-3", "integer"),
        ("ceil(sqrt(2))", "2", "integer"),
        ("round(2.675, 2)", "67/25", "rational"),
        ("round(7/2)", "4", "integer"),
        ("min(3, 1/2, 2)", "1/2", "rational"),
        ("max(1, sqrt(3))", "sqrt(3)", "surd"),
        ("10 ^ 1000 / 10 ^ 999", "10", "integer"),
        ("1e3 + 1", "1001", "integer"),
    ],
)
def test_exact_results(expression: str, exact: str, kind: str) -> None:
    result = calculate(expression)
    assert result["exact"] == exact
    assert result["result"] == exact
    assert result["kind"] == kind
    assert result["expression"] == expression


def test_sqrt_of_42_to_the_9_has_twenty_digits() -> None:
    result = calculate("sqrt(42 ^ 9)")
    assert result["approx"] == "20166094.908272945049"
    assert math.isclose(float(result["approx"]), math.sqrt(42**9), rel_tol=1e-15)


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("pi", "3.1415926535897932385"),
        ("e", "2.7182818284590452354"),
        ("tau / 2", "3.1415926535897932385"),
        ("sqrt(2)", "1.4142135623730950488"),
        ("ln(2)", "0.69314718055994530942"),
        ("sin(1)", "0.84147098480789650665"),
        ("cos(1)", "0.54030230586813971740"),
        ("atan(1) * 4", "3.1415926535897932385"),
        ("atan2(1, 1) * 4", "3.1415926535897932385"),
        ("asin(1) * 2", "3.1415926535897932385"),
        ("acos(0) * 2", "3.1415926535897932385"),
        ("exp(1)", "2.7182818284590452354"),
        ("cbrt(2)", "1.2599210498948731648"),
        ("(-2) ^ (1/3)", "-1.2599210498948731648"),
        ("sin(pi)", "0"),
        ("tan(pi / 4)", "1"),
        ("degrees(pi)", "180"),
        ("1 / inf", "0"),
        ("inf", "inf"),
        ("2 ^ 100", "1267650600228229401496703205376"),
    ],
)
def test_approximations_carry_about_twenty_digits(expression: str, expected: str) -> None:
    result = calculate(expression)
    if result["kind"] == "approximate":
        assert result["exact"] is None
        assert result["result"] == result["approx"]
    approx = result["approx"]
    if expected in ("0", "inf"):
        assert approx == expected
    else:
        assert abs(Decimal(approx) - Decimal(expected)) <= abs(Decimal(expected)) * Decimal("1e-19")
        if len(expected) > 15:  # the approximation shows about 20 significant digits
            assert len(approx.replace("-", "").replace(".", "").split("e")[0].lstrip("0")) >= 19


def test_transcendental_functions_agree_with_math() -> None:
    for name in ("sin", "cos", "tan", "atan", "sinh", "cosh", "tanh", "exp", "ln", "log10", "log2"):
        for x in (0.3, 1.7, 2.9):
            got = float(calculate(f"{name}({x})")["approx"])
            want = getattr(math, "log" if name == "ln" else name)(x)
            assert math.isclose(got, want, rel_tol=1e-14), (name, x, got, want)
    assert math.isclose(float(calculate("sin(1e22)")["approx"]), math.sin(1e22), rel_tol=1e-12)
    assert math.isclose(float(calculate("asin(0.5)")["approx"]), math.asin(0.5), rel_tol=1e-15)
    assert math.isclose(float(calculate("radians(180)")["approx"]), math.pi, rel_tol=1e-15)


def test_big_integer_results_report_their_digit_count() -> None:
    result = calculate("2 ^ 1000")
    assert result["exact"] == str(2**1000)
    assert result["digits"] == 302
    assert result["approx"] == "1.0715086071862673209e+301"
    assert calculate("factorial(1000)")["digits"] == 2568


@pytest.mark.parametrize(
    "expression, message",
    [
        ("9**9**9**9", "would have about .* digits; exact results are limited to 4000"),
        ("2 ^ 100000", "about 30,103 digits"),
        ("factorial(10**6)", r"factorial\(1000000\) would have about 5,565,709 digits"),
        ("comb(10**9, 10**8)", "comb"),
        ("perm(10**6)", "perm"),
        ("1e5000", "exponent beyond"),
        ("exp(1e10)", "too large"),
        ("(" * 100000, "100000 characters long; the limit is 1000"),
        ("(" * 150 + "1" + ")" * 150, "nested 150 deep; the limit is 100"),
        ("-" * 500 + "1", "nests more than 200"),
        ("__import__('os')", "double underscores"),
        ("().__class__", "attribute access"),
        ("pi.real", "attribute access"),
        ("x + 1", "unknown name 'x'"),
        ("open('f')", "unknown name 'open'"),
        ("sqrt", "is a function: call it"),
        ("pi(2)", "is a constant"),
        ("1 < 2", "comparisons are not supported"),
        ("'text'", "str values are not supported"),
        ("1j", "complex numbers are not supported"),
        ("[1, 2][0]", "indexing"),
        ("lambda: 1", "Lambda is not allowed"),
        ("sqrt(x=4)", "positional arguments only"),
        ("sqrt(1, 2)", r"sqrt\(\) takes 1 argument"),
        ("factorial(2.5)", "needs whole numbers"),
        ("factorial(-1)", "needs numbers >= 0"),
        ("1 / 0", "division by zero"),
        ("1 // 0", "division by zero"),
        ("0 ^ -1", "division by zero"),
        ("sqrt(-1)", "negative number"),
        ("(-8) ^ 0.5", "not a real number"),
        ("log(0)", "only defined for positive"),
        ("log(8, 1)", "base 1"),
        ("asin(2)", r"asin is defined on \[-1, 1\]"),
        ("inf - inf", "undefined"),
        ("2 +", "cannot parse the expression"),
        ("", "empty"),
        ("1 & 2", "not supported"),
        ("~1", "unary operator"),
    ],
)
def test_refusals_are_clear_retry_errors(expression: str, message: str) -> None:
    with pytest.raises(CalculatorError, match=message) as info:
        calculate(expression)
    assert isinstance(info.value, RetryTool)
    assert isinstance(info.value, ToolError)


def test_the_tool_validates_and_runs() -> None:
    assert calculator.name == "calculator"
    assert calculator.needs.network_hosts == () and not calculator.needs.read_paths
    definition = calculator.definition.to_openai()["function"]
    assert "exact" in definition["description"] and "^" in definition["description"]
    assert definition["parameters"]["required"] == ["expression"]
    result = anyio.run(calculator.invoke, calculator.validate({"expression": "42 ^ 9"}))
    assert result["exact"] == "406671383849472"
    with pytest.raises(ToolError, match="expression"):
        calculator.validate({"expr": "1"})
    assert calculator_tool() is not calculator
