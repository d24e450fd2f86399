"""Prime counting, written the slow way on purpose (the repo-optimizer example)."""


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    for d in range(2, n):
        if n % d == 0:
            return False
    return True


def count_primes(limit: int) -> int:
    """How many primes are below `limit`."""
    return sum(1 for n in range(limit) if is_prime(n))
