import time

from primes import count_primes

start = time.perf_counter()
assert count_primes(8000) == 1007
print(f"count_primes(8000): {time.perf_counter() - start:.3f} s")
