"""The calculator's functions and constants, with size estimates before every costly computation."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from agentkit.errors import RetryTool

from ._numbers import (
    Exact,
    Surd,
    Value,
    d_acos,
    d_asin,
    d_atan,
    d_atan2,
    d_cos,
    d_pi,
    d_sin,
    d_tan,
    exact_sqrt,
    format_exact,
    iroot,
    is_exact,
    make_surd,
    normalize,
    to_decimal,
)

__all__ = ["CONSTANTS", "FUNCTIONS", "MAX_DIGITS", "CalculatorError", "check_digits", "exact_power"]

MAX_DIGITS = 4000
_LOG10_2 = 0.30103
_MAX_ROOT_DEGREE = 64


class CalculatorError(RetryTool):
    """An expression the calculator refuses; the message says what to change."""


def _too_big(digits: float | int, what: str = "the result") -> CalculatorError:
    shown = f"{digits:,.0f}" if isinstance(digits, float) and math.isfinite(digits) else f"{digits:,}"
    if isinstance(digits, float) and not math.isfinite(digits):
        shown = "astronomically many"
    return CalculatorError(
        f"{what} would have about {shown} digits; exact results are limited to {MAX_DIGITS} digits. "
        "Use smaller numbers."
    )


def _digits_of(n: int) -> int:
    return abs(n).bit_length() * 30103 // 100000 + 1


def check_digits(value: Value) -> Value:
    """Refuse an exact value whose numerator or denominator is past MAX_DIGITS."""
    if isinstance(value, Decimal):
        return value
    coef = value.coef if isinstance(value, Surd) else Fraction(value)
    digits = max(_digits_of(coef.numerator), _digits_of(coef.denominator))
    if digits > MAX_DIGITS + 1:
        raise _too_big(digits)
    return value


# ---- powers ---------------------------------------------------------------------------------------


def exact_power(base: Value, exponent: Value) -> Value | None:
    """base ** exponent when it has an exact answer (None: approximate it instead)."""
    if isinstance(exponent, int):
        if isinstance(base, Surd):
            return _surd_power(base, exponent)
        assert isinstance(base, int | Fraction)
        return _rational_power(base, exponent)
    if not isinstance(exponent, Fraction) or isinstance(base, Surd | Decimal):
        return None
    assert isinstance(base, int | Fraction)
    p, q = exponent.numerator, exponent.denominator
    sign = 1
    if base < 0:
        if q % 2 == 0:
            raise CalculatorError(
                f"{format_exact(base)} ^ {format_exact(exponent)} is not a real number (even root of a negative)"
            )
        sign, base = (-1) ** (p % 2), -base
    if q == 2:
        root: Value = check_digits(exact_sqrt(base))
    elif q <= _MAX_ROOT_DEGREE:
        frac = Fraction(base)
        num, den = iroot(frac.numerator, q), iroot(frac.denominator, q)
        if num is None or den is None:
            return _signed(sign, to_decimal(base) ** to_decimal(exponent))
        root = normalize(Fraction(num, den))
    else:
        return _signed(sign, to_decimal(base) ** to_decimal(exponent))
    result = exact_power(root, p)
    assert result is not None
    return _signed(sign, result)


def _signed(sign: int, value: Value) -> Value:
    if sign == 1:
        return value
    if isinstance(value, Surd):
        return Surd(-value.coef, value.rad)
    return -value


def _rational_power(base: Exact, exponent: int) -> Value:
    if base in (0, 1) or exponent == 0:
        if base == 0 and exponent < 0:
            raise ZeroDivisionError("0 to a negative power")
        return 1 if exponent == 0 else base
    if base == -1:
        return -1 if exponent % 2 else 1
    frac = Fraction(base)
    bits = max(abs(frac.numerator).bit_length(), frac.denominator.bit_length())
    estimate = abs(exponent) * max(bits - 1, 1) * 30103 // 100000
    if estimate > MAX_DIGITS:
        raise _too_big(estimate)
    return check_digits(normalize(frac**exponent))


def _surd_power(base: Surd, exponent: int) -> Value:
    if exponent == 0:
        return 1
    n = abs(exponent)
    bits = max(abs(base.coef.numerator).bit_length(), base.coef.denominator.bit_length()) + base.rad.bit_length()
    estimate = n * bits * 30103 // 100000
    if estimate > MAX_DIGITS:
        raise _too_big(estimate)
    coef = base.coef**n * Fraction(base.rad) ** (n // 2)
    result = make_surd(coef, base.rad) if n % 2 else normalize(coef)
    if exponent > 0:
        return check_digits(result)
    if isinstance(result, Surd):  # 1 / (k sqrt r) = sqrt r / (k r)
        return check_digits(make_surd(1 / (result.coef * result.rad), result.rad))
    return check_digits(normalize(1 / Fraction(result)))


# ---- argument helpers ----------------------------------------------------------------------------


def _int_arg(name: str, value: Value, *, minimum: int | None = 0) -> int:
    if (
        isinstance(value, Decimal)
        and value.is_finite()
        and value == value.to_integral_value()
        and value.adjusted() < 40
    ):
        value = int(value)
    if not isinstance(value, int):
        raise CalculatorError(f"{name}() needs whole numbers, got {_show(value)}")
    if minimum is not None and value < minimum:
        raise CalculatorError(f"{name}() needs numbers >= {minimum}, got {value}")
    return value


def _show(value: Value) -> str:
    return format_exact(value) if is_exact(value) else str(to_decimal(value))


def _positive(name: str, value: Value) -> Decimal:
    d = to_decimal(value)
    if d <= 0:
        raise CalculatorError(f"{name}() is only defined for positive numbers, got {_show(value)}")
    return d


# ---- the functions -------------------------------------------------------------------------------


def _sqrt(x: Value) -> Value:
    if to_decimal(x) < 0:
        raise CalculatorError(
            f"sqrt() of a negative number ({_show(x)}) is not real; complex results are not supported"
        )
    if isinstance(x, int | Fraction):
        return check_digits(exact_sqrt(x))
    return to_decimal(x).sqrt()


def _cbrt(x: Value) -> Value:
    if isinstance(x, int | Fraction):
        return exact_power(x, Fraction(1, 3)) or 0
    d = to_decimal(x)
    if d == 0:
        return Decimal(0)
    root = abs(d) ** (Decimal(1) / 3)
    return root if d > 0 else -root


def _exp(x: Value) -> Value:
    return 1 if x == 0 else to_decimal(x).exp()


def _log(x: Value, base: Value | None = None) -> Value:
    d = _positive("log", x)
    if base is not None:
        b = _positive("log", base)
        if b == 1:
            raise CalculatorError("log() with base 1 is undefined; use a base > 0 other than 1")
        if isinstance(x, int | Fraction) and isinstance(base, int | Fraction):
            exact = _exact_log(Fraction(x), Fraction(base), d.ln() / b.ln())
            if exact is not None:
                return exact
        return d.ln() / b.ln()
    return 0 if x == 1 else d.ln()


def _exact_log(x: Fraction, base: Fraction, approx: Decimal) -> int | None:
    k = int(approx.to_integral_value(rounding=ROUND_HALF_EVEN))
    if abs(approx - k) > Decimal("1e-30"):
        return None
    return k if Fraction(base) ** k == x else None


def _angle(fn: Callable[[Decimal], Decimal], at_zero: int | None) -> Callable[[Value], Value]:
    def apply(x: Value) -> Value:
        if at_zero is not None and x == 0 and is_exact(x):
            return at_zero
        return fn(to_decimal(x))

    return apply


def _sinh(x: Value) -> Value:
    if x == 0:
        return 0
    d = to_decimal(x)
    return (d.exp() - (-d).exp()) / 2


def _cosh(x: Value) -> Value:
    if x == 0:
        return 1
    d = to_decimal(x)
    return (d.exp() + (-d).exp()) / 2


def _tanh(x: Value) -> Value:
    if x == 0:
        return 0
    d = to_decimal(x)
    if abs(d) > 200:
        return Decimal(1 if d > 0 else -1)
    e2 = (2 * d).exp()
    return (e2 - 1) / (e2 + 1)


def _atan2(y: Value, x: Value) -> Value:
    if y == 0 and is_exact(y) and is_exact(x) and to_decimal(x) > 0:
        return 0
    return d_atan2(to_decimal(y), to_decimal(x))


def _degrees(x: Value) -> Value:
    return 0 if x == 0 else to_decimal(x) * 180 / d_pi()


def _radians(x: Value) -> Value:
    return 0 if x == 0 else to_decimal(x) * d_pi() / 180


def _abs(x: Value) -> Value:
    if isinstance(x, Surd):
        return Surd(abs(x.coef), x.rad)
    return -x if x < 0 else x


def _to_integer(x: Value, rounding: str) -> Value:
    if isinstance(x, int | Fraction):
        return math.floor(x) if rounding == ROUND_FLOOR else math.ceil(x)
    d = to_decimal(x)
    if not d.is_finite():
        raise CalculatorError(f"cannot round {_show(x)} to an integer")
    rounded = d.to_integral_value(rounding=rounding)
    return int(rounded) if rounded.adjusted() < 40 else rounded


def _round(x: Value, ndigits: Value | None = None) -> Value:
    places = None if ndigits is None else _int_arg("round", ndigits, minimum=None)
    if places is not None and abs(places) > MAX_DIGITS:
        raise CalculatorError(f"round() to {places} places is past the {MAX_DIGITS}-digit limit")
    if isinstance(x, int | Fraction):
        return normalize(Fraction(round(Fraction(x), places))) if places is not None else round(Fraction(x))
    d = to_decimal(x)
    if places is None:
        return _to_integer(d, ROUND_HALF_EVEN)
    return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def _factorial(n: Value) -> Value:
    k = _int_arg("factorial", n)
    digits = math.lgamma(k + 1) / math.log(10) if k < 10**7 else math.inf
    if digits > MAX_DIGITS:
        raise _too_big(digits, f"factorial({k})")
    return math.factorial(k)


def _binomial_digits(n: int, k: int, ordered: bool) -> float:
    small = k if ordered else min(k, n - k)
    if small * _digits_of(n) <= MAX_DIGITS:
        return float(small * _digits_of(n))
    try:
        lg = math.lgamma(n + 1) - math.lgamma(n - k + 1) - (0 if ordered else math.lgamma(k + 1))
    except OverflowError:
        return math.inf
    return lg / math.log(10)


def _comb(n: Value, k: Value) -> Value:
    nn, kk = _int_arg("comb", n), _int_arg("comb", k)
    if kk > nn:
        return 0
    digits = _binomial_digits(nn, kk, ordered=False)
    if digits > MAX_DIGITS:
        raise _too_big(digits, f"comb({nn}, {kk})")
    return check_digits(math.comb(nn, kk))


def _perm(n: Value, k: Value | None = None) -> Value:
    nn = _int_arg("perm", n)
    kk = nn if k is None else _int_arg("perm", k)
    if kk > nn:
        return 0
    digits = _binomial_digits(nn, kk, ordered=True)
    if digits > MAX_DIGITS:
        raise _too_big(digits, f"perm({nn}, {kk})")
    return check_digits(math.perm(nn, kk))


def _gcd(*args: Value) -> Value:
    return math.gcd(*[_int_arg("gcd", a, minimum=None) for a in args])


def _lcm(*args: Value) -> Value:
    ints = [_int_arg("lcm", a, minimum=None) for a in args]
    if sum(_digits_of(i) for i in ints) > MAX_DIGITS * 4:
        raise _too_big(sum(_digits_of(i) for i in ints), "lcm()")
    return check_digits(math.lcm(*ints))


def _extreme(pick: Callable[..., Value]) -> Callable[..., Value]:
    def apply(*args: Value) -> Value:
        if all(isinstance(a, int | Fraction) for a in args):
            return pick(args)
        return pick(args, key=to_decimal)

    return apply


def _hypot(*args: Value) -> Value:
    if all(isinstance(a, int | Fraction) for a in args):
        total = sum((Fraction(a) ** 2 for a in args if isinstance(a, int | Fraction)), Fraction(0))
        check_digits(total)
        return check_digits(exact_sqrt(total))
    return sum((to_decimal(a) ** 2 for a in args), Decimal(0)).sqrt()


# name -> (fewest arguments, most arguments or None for any number, function)
FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Value]]] = {
    "abs": (1, 1, _abs),
    "acos": (1, 1, _angle(d_acos, None)),
    "asin": (1, 1, _angle(d_asin, 0)),
    "atan": (1, 1, _angle(d_atan, 0)),
    "atan2": (2, 2, _atan2),
    "cbrt": (1, 1, _cbrt),
    "ceil": (1, 1, lambda x: _to_integer(x, ROUND_CEILING)),
    "comb": (2, 2, _comb),
    "cos": (1, 1, _angle(d_cos, 1)),
    "cosh": (1, 1, _cosh),
    "degrees": (1, 1, _degrees),
    "exp": (1, 1, _exp),
    "factorial": (1, 1, _factorial),
    "floor": (1, 1, lambda x: _to_integer(x, ROUND_FLOOR)),
    "gcd": (1, None, _gcd),
    "hypot": (1, None, _hypot),
    "lcm": (1, None, _lcm),
    "ln": (1, 1, _log),
    "log": (1, 2, _log),
    "log10": (1, 1, lambda x: _log(x, 10)),
    "log2": (1, 1, lambda x: _log(x, 2)),
    "max": (1, None, _extreme(max)),
    "min": (1, None, _extreme(min)),
    "perm": (1, 2, _perm),
    "radians": (1, 1, _radians),
    "round": (1, 2, _round),
    "sin": (1, 1, _angle(d_sin, 0)),
    "sinh": (1, 1, _sinh),
    "sqrt": (1, 1, _sqrt),
    "tan": (1, 1, _angle(d_tan, 0)),
    "tanh": (1, 1, _tanh),
}

CONSTANTS: dict[str, Callable[[], Value]] = {
    "e": lambda: Decimal(1).exp(),
    "inf": lambda: Decimal("Infinity"),
    "pi": d_pi,
    "tau": lambda: 2 * d_pi(),
}
