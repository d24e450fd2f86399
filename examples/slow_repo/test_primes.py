from primes import count_primes, is_prime


def test_small_primes():
    assert [n for n in range(20) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19]


def test_edge_cases():
    assert not is_prime(0) and not is_prime(1) and is_prime(2) and not is_prime(49)


def test_counts():
    assert count_primes(100) == 25
    assert count_primes(1000) == 168
