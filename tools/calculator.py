"""The `calculator` tool: exact arithmetic over a whitelisted expression grammar, never `eval`.

The expression is parsed with `ast` and walked over a whitelist (numbers, + - * / // % ** ^, unary minus,
parentheses, the functions in `_FUNCTIONS`, the constants pi, e, tau, inf). Values stay exact while the input
is exact: integers, rationals (decimal literals are read as exact decimals, so 0.1 + 0.2 is 3/10) and
square-root forms (sqrt(42 ^ 9) is 3111696*sqrt(42)); anything transcendental becomes a 50-digit decimal
approximation. Every costly step (powers, factorials, binomials, root extraction) estimates the size of its
result before computing it and refuses past `MAX_DIGITS`, so hostile input fails fast with a clear message.
"""

from __future__ import annotations

import ast
import decimal
import math
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from agentkit.errors import clip
from agentkit.tooling import Tool

from ._functions import CONSTANTS, FUNCTIONS, MAX_DIGITS, CalculatorError, check_digits, exact_power
from ._numbers import (
    Surd,
    Value,
    decimal_context,
    format_approx,
    format_exact,
    is_exact,
    make_surd,
    normalize,
    to_decimal,
)

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "MAX_LENGTH", "CalculatorError", "calculate", "calculator", "calculator_tool"]

MAX_LENGTH = 1000
MAX_DEPTH = 100
_MAX_TREE_DEPTH = 2 * MAX_DEPTH

_REPLACEMENTS = {"^": "**", "×": "*", "·": "*", "÷": "/", "−": "-", "–": "-"}
_LITERAL = re.compile(r"^(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?$")


def calculate(expression: str) -> dict[str, Any]:
    """Evaluate `expression`; the result dict has `expression`, `result`, `exact`, `approx` and `kind`."""
    source = _normalize_source(expression)
    tree = _parse(source)
    with decimal.localcontext(decimal_context()):
        try:
            value = _Evaluator(source).visit(tree.body)
            return _result(expression, value)
        except CalculatorError:
            raise
        except ZeroDivisionError as exc:
            raise CalculatorError(f"division by zero: {exc}" if str(exc) else "division by zero") from None
        except decimal.DivisionByZero:
            raise CalculatorError("division by zero") from None
        except decimal.Overflow:
            raise CalculatorError("the result is too large (beyond 1e999999)") from None
        except decimal.InvalidOperation:
            raise CalculatorError("the result is undefined (for example inf - inf or 0 * inf)") from None
        except (ValueError, ArithmeticError) as exc:
            raise CalculatorError(str(exc)) from None


def _normalize_source(expression: str) -> str:
    if not isinstance(expression, str) or not expression.strip():
        raise CalculatorError("the expression is empty: pass something like '2 * (3 + 4)'")
    if len(expression) > MAX_LENGTH:
        raise CalculatorError(f"the expression is {len(expression)} characters long; the limit is {MAX_LENGTH}")
    source = expression.strip().rstrip("=").strip()
    for old, new in _REPLACEMENTS.items():
        source = source.replace(old, new)
    depth = deepest = 0
    for char in source:
        if char in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]":
            depth -= 1
    if deepest > MAX_DEPTH:
        raise CalculatorError(f"parentheses are nested {deepest} deep; the limit is {MAX_DEPTH}")
    return source


def _parse(source: str) -> ast.Expression:
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise CalculatorError(
            f"cannot parse the expression{where}: {exc.msg}; use numbers, + - * / // % ^ and function calls"
        ) from None
    except (RecursionError, MemoryError, ValueError):
        raise CalculatorError("the expression is too complex to parse; simplify it") from None
    _check_depth(tree)
    return tree


def _check_depth(tree: ast.AST) -> None:
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_TREE_DEPTH:
            raise CalculatorError(f"the expression nests more than {_MAX_TREE_DEPTH} operations deep; split it up")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


_BINARY: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}


class _Evaluator:
    def __init__(self, source: str) -> None:
        self.source = source

    def visit(self, node: ast.AST) -> Value:
        method: Callable[[Any], Value] | None = getattr(self, f"_visit_{type(node).__name__}", None)
        if method is None:
            raise CalculatorError(_unsupported(node))
        return method(node)

    def _visit_Constant(self, node: ast.Constant) -> Value:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "complex numbers" if isinstance(value, complex) else f"{type(value).__name__} values"
            raise CalculatorError(f"{kind} are not supported ({clip(repr(value))}); use real numbers")
        if isinstance(value, int):
            return value
        text = (ast.get_source_segment(self.source, node) or repr(value)).replace("_", "")
        return _decimal_literal(text)

    def _visit_Name(self, node: ast.Name) -> Value:
        name = _check_name(node.id)
        if name in FUNCTIONS:
            raise CalculatorError(f"{name!r} is a function: call it, as in {name}(x)")  # a known, short name
        if name not in CONSTANTS:
            raise CalculatorError(_unknown_name(name))
        return CONSTANTS[name]()

    def _visit_UnaryOp(self, node: ast.UnaryOp) -> Value:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return negate(operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        raise CalculatorError(_unsupported(node))

    def _visit_BinOp(self, node: ast.BinOp) -> Value:
        symbol = _BINARY.get(type(node.op))
        if symbol is None:
            raise CalculatorError(_unsupported(node))
        return binary(symbol, self.visit(node.left), self.visit(node.right))

    def _visit_Call(self, node: ast.Call) -> Value:
        if not isinstance(node.func, ast.Name):
            raise CalculatorError(_unsupported(node.func))
        name = _check_name(node.func.id)
        if name in CONSTANTS:
            raise CalculatorError(f"{name!r} is a constant, not a function: use it as a number")
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise CalculatorError(_unknown_name(name))
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            raise CalculatorError(f"{name}() takes plain positional arguments only")
        low, high, fn = spec
        count = len(node.args)
        if count < low or (high is not None and count > high):
            wanted = f"{low}" if low == high else f"{low} to {high}" if high is not None else f"at least {low}"
            raise CalculatorError(f"{name}() takes {wanted} argument(s), got {count}")
        return fn(*[self.visit(arg) for arg in node.args])


def _check_name(name: str) -> str:
    if name.startswith("__") or name.endswith("__"):
        raise CalculatorError(f"names with double underscores ({clip(repr(name))}) are not allowed")
    return name.lower() if name.lower() in FUNCTIONS or name.lower() in CONSTANTS else name


def _unknown_name(name: str) -> str:
    return (
        f"unknown name {clip(repr(name))}; constants: {', '.join(sorted(CONSTANTS))}; "
        f"functions: {', '.join(sorted(FUNCTIONS))}"
    )


def _unsupported(node: ast.AST) -> str:
    kind = type(node).__name__
    if isinstance(node, ast.Attribute):
        return f"attribute access (.{node.attr}) is not allowed; call a listed function such as sqrt(x)"
    if isinstance(node, ast.Subscript):
        return "indexing with [] is not allowed"
    if isinstance(node, ast.Compare):
        return "comparisons are not supported; the calculator evaluates one numeric expression"
    if isinstance(node, ast.BinOp):
        return f"the operator {type(node.op).__name__} is not supported; use + - * / // % ^"
    if isinstance(node, ast.UnaryOp):
        return f"the unary operator {type(node.op).__name__} is not supported; only - and + are"
    return f"{kind} is not allowed; use numbers, + - * / // % ^, parentheses and the listed functions"


def _decimal_literal(text: str) -> Value:
    match = _LITERAL.match(text)
    if not match:
        raise CalculatorError(f"cannot read the number {clip(repr(text))}")
    whole, frac, exp = match.groups()
    exponent = int(exp or 0)
    if abs(exponent) > MAX_DIGITS:
        raise CalculatorError(f"the number {clip(repr(text))} has an exponent beyond the {MAX_DIGITS}-digit limit")
    value = Fraction(int((whole or "0") + frac), 10 ** len(frac)) * Fraction(10) ** exponent
    return normalize(value)


# ---- arithmetic over value kinds ------------------------------------------------------------------


def negate(value: Value) -> Value:
    if isinstance(value, Surd):
        return Surd(-value.coef, value.rad)
    return -value


def binary(symbol: str, left: Value, right: Value) -> Value:
    if symbol == "**":
        return power(left, right)
    if is_exact(left) and is_exact(right):
        result = _exact_binary(symbol, left, right)
        if result is not None:
            return check_digits(result)
    return _approx_binary(symbol, to_decimal(left), to_decimal(right))


def _exact_binary(symbol: str, a: Value, b: Value) -> Value | None:
    if isinstance(a, Surd | int | Fraction) and isinstance(b, Surd | int | Fraction):
        if not isinstance(a, Surd) and not isinstance(b, Surd):
            return _rational_binary(symbol, a, b)
        return _surd_binary(symbol, a, b)
    return None


def _rational_binary(symbol: str, a: int | Fraction, b: int | Fraction) -> Value:
    if symbol in ("/", "//", "%") and b == 0:
        raise ZeroDivisionError(f"{format_exact(a)} {symbol} 0")
    if symbol == "+":
        return normalize(Fraction(a) + b)
    if symbol == "-":
        return normalize(Fraction(a) - b)
    if symbol == "*":
        return normalize(Fraction(a) * b)
    if symbol == "/":
        return normalize(Fraction(a) / b)
    if symbol == "//":
        return Fraction(a) // b
    return normalize(Fraction(a) % b)


def _surd_binary(symbol: str, a: Value, b: Value) -> Value | None:
    sa = a if isinstance(a, Surd) else None
    sb = b if isinstance(b, Surd) else None
    if symbol in ("+", "-"):
        if sa and sb and sa.rad == sb.rad:
            coef = sa.coef + sb.coef if symbol == "+" else sa.coef - sb.coef
            return make_surd(coef, sa.rad)
        if a == 0 or b == 0:
            return a if b == 0 else negate(b) if symbol == "-" else b
        return None
    if symbol == "*":
        if sa and sb:
            g = math.gcd(sa.rad, sb.rad)
            return make_surd(sa.coef * sb.coef * g, (sa.rad // g) * (sb.rad // g))
        surd, other = (sa, b) if sa else (sb, a)
        assert surd is not None and isinstance(other, int | Fraction)
        return make_surd(surd.coef * other, surd.rad)
    if symbol == "/":
        if b == 0:
            raise ZeroDivisionError(f"{format_exact(a)} / 0")
        if sb:  # a / (c sqrt r) = a sqrt r / (c r)
            return _surd_binary("*", a, Surd(1 / (sb.coef * sb.rad), sb.rad))
        assert sa is not None and isinstance(b, int | Fraction)
        return make_surd(sa.coef / b, sa.rad)
    return None


def _approx_binary(symbol: str, a: Decimal, b: Decimal) -> Value:
    if symbol == "+":
        return a + b
    if symbol == "-":
        return a - b
    if symbol == "*":
        return a * b
    if symbol == "/":
        if b == 0:
            raise ZeroDivisionError(f"{format_approx(a)} / 0")
        return a / b
    if b == 0:
        raise ZeroDivisionError(f"{format_approx(a)} {symbol} 0")
    quotient = (a / b).to_integral_value(rounding=decimal.ROUND_FLOOR)
    return quotient if symbol == "//" else a - b * quotient


def power(base: Value, exponent: Value) -> Value:
    if is_exact(base) and is_exact(exponent) and not isinstance(exponent, Surd):
        result = exact_power(base, exponent)
        if result is not None:
            return result
    b, e = to_decimal(base), to_decimal(exponent)
    if b < 0 and e != e.to_integral_value():
        raise CalculatorError(
            f"a negative base to a fractional power ({format_approx(b)} ^ {format_approx(e)}) is complex"
        )
    if b == 0 and e < 0:
        raise ZeroDivisionError("0 to a negative power")
    if e == e.to_integral_value() and abs(e) < 10**6:
        return b ** int(e)
    return b**e


# ---- results --------------------------------------------------------------------------------------


def _result(expression: str, value: Value) -> dict[str, Any]:
    value = normalize(value)
    approx = format_approx(to_decimal(value))
    if isinstance(value, Decimal):
        return {"expression": expression, "result": approx, "exact": None, "approx": approx, "kind": "approximate"}
    exact = format_exact(value)
    kind = "integer" if isinstance(value, int) else "rational" if isinstance(value, Fraction) else "surd"
    out: dict[str, Any] = {"expression": expression, "result": exact, "exact": exact, "approx": approx, "kind": kind}
    if isinstance(value, int) and abs(value) >= 10**20:
        out["digits"] = len(str(abs(value)))
    return out


_DESCRIPTION = """\
Evaluate one arithmetic expression exactly and return JSON: {"expression", "result", "exact", "approx", "kind"}.
Use it for any arithmetic instead of computing in your head.
- Operators: + - * / // (floor division) % (modulo) and ^ or ** (power; right-associative), parentheses, unary minus.
- Functions: sqrt, cbrt, exp, ln, log(x) (natural log), log(x, base), log2, log10, sin, cos, tan, asin, acos, atan,
  atan2(y, x), sinh, cosh, tanh (angles in radians; degrees(x), radians(x) convert), abs, floor, ceil, round(x[, n]),
  factorial(n), comb(n, k), perm(n, k), gcd, lcm, min, max, hypot.
- Constants: pi, e, tau, inf.
- Results stay exact where the input is exact: "42 ^ 9" gives 406671383849472, "1/3 + 1/6" gives 1/2,
  "sqrt(42 ^ 9)" gives 3111696*sqrt(42); "approx" always holds about 20 significant digits.
- No variables, no assignments, no comparisons; exact results are limited to 4000 digits."""

_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "expression": {
            "type": "string",
            "description": "The expression in plain math notation, e.g. '42 ^ 9', 'sqrt(2) * 3', 'log(1000, 10)'.",
            "minLength": 1,
            "maxLength": MAX_LENGTH,
        }
    },
    "required": ["expression"],
    "additionalProperties": False,
}


def calculator_tool() -> Tool:
    """A fresh `calculator` Tool (it needs nothing from the sandbox: no files, no network)."""
    return Tool.from_schema("calculator", _DESCRIPTION, _SCHEMA, calculate, timeout=5.0)


calculator = calculator_tool()
