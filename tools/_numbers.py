"""Number kinds for the calculator: exact rationals, exact square-root forms (surds) and decimal approximations.

A value is one of:
- `int` / `Fraction`: exact rationals (a Fraction with denominator 1 is always normalised to `int`);
- `Surd`: an exact `coef * sqrt(rad)` with `rad` > 1 free of the square factors trial division finds;
- `Decimal`: an approximation carried at `WORK_PREC` significant digits (transcendental results, constants).

Transcendental functions are computed here in `Decimal` so approximations carry about 20 correct digits
(floats carry 15-17). Every function assumes the caller entered `decimal_context()`.
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

__all__ = [
    "APPROX_DIGITS",
    "WORK_PREC",
    "Exact",
    "Surd",
    "Value",
    "d_acos",
    "d_asin",
    "d_atan",
    "d_atan2",
    "d_cos",
    "d_pi",
    "d_sin",
    "d_tan",
    "decimal_context",
    "exact_sqrt",
    "format_approx",
    "format_exact",
    "iroot",
    "is_exact",
    "make_surd",
    "normalize",
    "to_decimal",
]

WORK_PREC = 50
APPROX_DIGITS = 20
_TRIAL_PRIMES_UP_TO = 2000

Exact = int | Fraction


@dataclass(frozen=True, slots=True)
class Surd:
    """The exact number coef * sqrt(rad)."""

    coef: Fraction
    rad: int


Value = int | Fraction | Surd | Decimal


def decimal_context() -> decimal.Context:
    return decimal.Context(
        prec=WORK_PREC,
        Emax=999_999,
        Emin=-999_999,
        traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
    )


def normalize(value: Value) -> Value:
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value


def is_exact(value: Value) -> bool:
    return not isinstance(value, Decimal)


def make_surd(coef: Exact, rad: int) -> Value:
    """coef * sqrt(rad), simplified to a rational when it is one."""
    if coef == 0 or rad == 0:
        return 0
    square, rest = _split_square(rad)
    coef = Fraction(coef) * square
    if rest == 1:
        return normalize(coef)
    return Surd(coef, rest)


def exact_sqrt(value: Exact) -> Value:
    """The exact square root of a non-negative rational: sqrt(p/q) = sqrt(p*q)/q."""
    frac = Fraction(value)
    return make_surd(Fraction(1, frac.denominator), frac.numerator * frac.denominator)


@lru_cache(maxsize=1)
def _small_primes() -> tuple[int, ...]:
    sieve = bytearray([1]) * (_TRIAL_PRIMES_UP_TO + 1)
    sieve[0:2] = b"\x00\x00"
    for n in range(2, math.isqrt(_TRIAL_PRIMES_UP_TO) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytearray(len(sieve[n * n :: n]))
    return tuple(i for i, flag in enumerate(sieve) if flag)


def _split_square(n: int) -> tuple[int, int]:
    """n = square**2 * rest, taking out every square factor that small-prime trial division exposes."""
    root = math.isqrt(n)
    if root * root == n:
        return root, 1
    square, rest = 1, 1
    for prime in _small_primes():
        if prime * prime > n:
            break
        count = 0
        while n % prime == 0:
            n //= prime
            count += 1
        if count:
            square *= prime ** (count // 2)
            if count % 2:
                rest *= prime
    root = math.isqrt(n)
    if root * root == n:
        return square * root, rest
    return square, rest * n


def iroot(n: int, k: int) -> int | None:
    """The exact integer k-th root of n >= 0, or None."""
    if n < 2:
        return n
    guess = round(math.exp(math.log(n) / k)) if n.bit_length() < 1000 else _newton_root(n, k)
    for candidate in (guess - 1, guess, guess + 1):
        if candidate >= 0 and candidate**k == n:
            return candidate
    return None


def _newton_root(n: int, k: int) -> int:
    x = 1 << (n.bit_length() // k + 1)
    while True:
        y = ((k - 1) * x + n // x ** (k - 1)) // k
        if y >= x:
            return x
        x = y


def to_decimal(value: Value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    return to_decimal(value.coef) * Decimal(value.rad).sqrt()


# ---- decimal transcendental functions --------------------------------------------------------


@lru_cache(maxsize=8)
def _pi_at(prec: int) -> Decimal:
    """pi to `prec` digits by Machin's formula: 16 atan(1/5) - 4 atan(1/239)."""
    with decimal.localcontext(decimal.Context(prec=prec + 10)):
        value = 16 * _atan_inverse(5) - 4 * _atan_inverse(239)
    with decimal.localcontext(decimal.Context(prec=prec)):
        return +value


def _atan_inverse(n: int) -> Decimal:
    """atan(1/n) by its alternating series, at the current precision."""
    x = Decimal(1) / n
    x2 = x * x
    total, term, k = x, x, 1
    eps = Decimal(10) ** -(decimal.getcontext().prec + 2)
    while abs(term) > eps:
        term *= -x2
        total += term / (2 * k + 1)
        k += 1
    return total


def d_pi() -> Decimal:
    return +_pi_at(decimal.getcontext().prec)


def _reduce_angle(x: Decimal) -> Decimal:
    """x modulo 2*pi into [-pi, pi], with enough digits of pi for large arguments."""
    extra = max(0, x.adjusted()) + 10
    prec = decimal.getcontext().prec + extra
    with decimal.localcontext(decimal.Context(prec=prec)):
        two_pi = 2 * _pi_at(prec)
        r = x - two_pi * (x / two_pi).to_integral_value(rounding=decimal.ROUND_HALF_EVEN)
    return +r


def _taylor_sin_cos(r: Decimal, start: int) -> Decimal:
    """sin (start=1) or cos (start=0) of a reduced angle."""
    with decimal.localcontext() as ctx:
        ctx.prec += 5
        term = r if start == 1 else Decimal(1)
        total, n = term, start
        r2 = r * r
        eps = Decimal(10) ** -(ctx.prec + 2)
        while abs(term) > eps:
            term = -term * r2 / ((n + 1) * (n + 2))
            total += term
            n += 2
    return +total


def _snap(result: Decimal, x: Decimal) -> Decimal:
    """Values indistinguishable from zero at our precision (sin(pi)) are reported as zero."""
    if result != 0 and abs(x) >= 1 and abs(result) < Decimal(10) ** -(decimal.getcontext().prec - 8):
        return Decimal(0)
    return result


def d_sin(x: Decimal) -> Decimal:
    return _snap(_taylor_sin_cos(_reduce_angle(x), 1), x)


def d_cos(x: Decimal) -> Decimal:
    return _snap(_taylor_sin_cos(_reduce_angle(x), 0), x)


def d_tan(x: Decimal) -> Decimal:
    r = _reduce_angle(x)
    cos = _snap(_taylor_sin_cos(r, 0), x)
    if cos == 0:
        raise ZeroDivisionError("tan is undefined at odd multiples of pi/2")
    return _snap(_taylor_sin_cos(r, 1), x) / cos


def d_atan(x: Decimal) -> Decimal:
    if x.is_infinite():
        return d_pi() / 2 * (1 if x > 0 else -1)
    if abs(x) > 1:
        return (d_pi() / 2 if x > 0 else -d_pi() / 2) - d_atan(1 / x)
    with decimal.localcontext() as ctx:
        ctx.prec += 5
        # atan(x) = 2 atan(x / (1 + sqrt(1 + x^2))): halving twice makes the series converge fast
        for _ in range(2):
            x = x / (1 + (1 + x * x).sqrt())
        term, total, k = x, x, 1
        x2 = x * x
        eps = Decimal(10) ** -(ctx.prec + 2)
        while abs(term) > eps:
            term *= -x2
            total += term / (2 * k + 1)
            k += 1
        total *= 4
    return +total


def d_asin(x: Decimal) -> Decimal:
    if abs(x) > 1:
        raise ValueError(f"asin is defined on [-1, 1], got {x}")
    if abs(x) == 1:
        return d_pi() / 2 * x
    return d_atan(x / (1 - x * x).sqrt())


def d_acos(x: Decimal) -> Decimal:
    if abs(x) > 1:
        raise ValueError(f"acos is defined on [-1, 1], got {x}")
    return d_pi() / 2 - d_asin(x)


def d_atan2(y: Decimal, x: Decimal) -> Decimal:
    if x > 0:
        return d_atan(y / x)
    if x < 0:
        return d_atan(y / x) + (d_pi() if y >= 0 else -d_pi())
    if y == 0:
        return Decimal(0)
    return d_pi() / 2 * (1 if y > 0 else -1)


# ---- formatting -------------------------------------------------------------------------------


def format_approx(value: Decimal, digits: int = APPROX_DIGITS) -> str:
    """About `digits` significant digits; positional for everyday magnitudes, scientific otherwise."""
    if value.is_infinite():
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    with decimal.localcontext(decimal.Context(prec=digits, Emax=999_999_999, Emin=-999_999_999)):
        rounded = +value
    exponent = rounded.adjusted()
    if -7 < exponent < digits:
        text = format(rounded, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    mantissa, _, power = format(rounded, f".{digits - 1}e").partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(power):+d}"


def format_exact(value: Value) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, Surd):
        num, den = value.coef.numerator, value.coef.denominator
        sign = "-" if num < 0 else ""
        text = f"sqrt({value.rad})" if abs(num) == 1 else f"{abs(num)}*sqrt({value.rad})"
        return f"{sign}{text}" + (f"/{den}" if den != 1 else "")
    raise TypeError("an approximation has no exact form")
