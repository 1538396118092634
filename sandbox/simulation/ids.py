"""Deterministic, horizon-independent object ids.

Ids are hashes of a stable key (the seed plus what the object is, e.g. the subscription and
its period number), never counters: the world at as-of D+1 must contain the world at D with
the same ids, whatever was created in between.
"""

from __future__ import annotations

import hashlib

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: Stripe's id lengths after the prefix (customers and products are shorter).
_LENGTHS = {"cus": 14, "prod": 14}


def token(*key: object, length: int = 24) -> str:
    """A base62 token of ``length`` characters derived from ``key``."""
    digest = int.from_bytes(hashlib.blake2b("|".join(map(str, key)).encode(), digest_size=20).digest(), "big")
    chars = []
    for _ in range(length):
        digest, rem = divmod(digest, 62)
        chars.append(_ALPHABET[rem])
    return "".join(chars)


def stripe_id(prefix: str, *key: object) -> str:
    """A Stripe-style id such as ``cus_Q1w2E3r4T5y6U7``."""
    return f"{prefix}_{token(prefix, *key, length=_LENGTHS.get(prefix, 24))}"
