"""RSA signing keys shaped like Entra's, and the issuer's key ring.

Entra signs access tokens with RSA-2048 keys (e = 65537) and publishes each one
in its JWKS with a self-signed certificate (`x5c`) whose SHA-1 thumbprint is both
the `x5t` and the `kid`. The simulator does the same so a filter sees realistic
documents.

Key generation is the slow part of a test run, so keys come from a process-wide
`KeyPool`: the i-th key of a pool is generated once and reused by every issuer in
the process. A pool built from a seed generates the same keys in every process
(demo scripts and a CLI issuer can then agree on keys without talking).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import math
import random
import threading
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

RSA_BITS = 2048
PUBLIC_EXPONENT = 65537

_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def b64url(data: bytes) -> str:
    """Base64url without padding, as JOSE wants it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class KeyPair:
    """One signing key with the certificate and JWK Entra would publish for it."""

    kid: str
    private_key: rsa.RSAPrivateKey
    certificate_der: bytes

    @classmethod
    def from_private_key(cls, private_key: rsa.RSAPrivateKey) -> KeyPair:
        der = _self_signed_certificate(private_key).public_bytes(serialization.Encoding.DER)
        return cls(kid=b64url(hashlib.sha1(der).digest()), private_key=private_key, certificate_der=der)

    @classmethod
    def from_pem(cls, pem: str | bytes) -> KeyPair:
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("not an RSA private key")
        return cls.from_private_key(key)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    @property
    def x5t(self) -> str:
        return self.kid

    def jwk(self, issuer: str | None = None) -> dict:
        """The JWKS entry, in Entra's field order; `issuer` is added when given."""
        numbers = self.public_key.public_numbers()
        entry = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": _int_b64url(numbers.n),
            "e": _int_b64url(numbers.e),
            "x5c": [base64.b64encode(self.certificate_der).decode("ascii")],
        }
        if issuer is not None:
            entry["issuer"] = issuer
        return entry

    def private_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def public_der(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, data: bytes, alg: str = "RS256") -> bytes:
        """Sign `data` with an RSA JOSE algorithm (RS256/384/512, PS256/384/512)."""
        family, bits = alg[:2], alg[2:]
        if bits not in _HASHES or family not in ("RS", "PS"):
            raise ValueError(f"not an RSA JOSE algorithm: {alg!r}")
        digest = _HASHES[bits]()
        if family == "RS":
            pad = padding.PKCS1v15()
        else:
            pad = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        return self.private_key.sign(data, pad, digest)


def _self_signed_certificate(private_key: rsa.RSAPrivateKey) -> x509.Certificate:
    """A certificate for the `x5c` field; fixed dates and serial keep it deterministic."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "entra-guard test issuer")])
    n = private_key.public_key().public_numbers().n
    serial = int.from_bytes(hashlib.sha256(str(n).encode()).digest()[:16], "big") >> 1
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(serial)
        .not_valid_before(datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
        .not_valid_after(datetime.datetime(2049, 12, 31, tzinfo=datetime.timezone.utc))
        .sign(private_key, hashes.SHA256())
    )


# --- deterministic generation -------------------------------------------------------

_SMALL_PRIMES = [p for p in range(3, 5000, 2) if all(p % d for d in range(3, int(p**0.5) + 1, 2))]
_SMALL_PRIMES_PRODUCT = math.prod(_SMALL_PRIMES)


def _is_probable_prime(candidate: int, rng: random.Random, rounds: int = 24) -> bool:
    """Miller-Rabin after a cheap sieve (one gcd against the small primes)."""
    if math.gcd(candidate, _SMALL_PRIMES_PRODUCT) != 1:
        return candidate in _SMALL_PRIMES
    d, s = candidate - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, candidate - 2), d, candidate)
        if x in (1, candidate - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, candidate)
            if x == candidate - 1:
                break
        else:
            return False
    return True


def _random_prime(rng: random.Random, bits: int) -> int:
    while True:
        # Top two bits set so that p*q has exactly 2*bits bits; odd; p-1 coprime to e.
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (candidate - 1) % PUBLIC_EXPONENT and _is_probable_prime(candidate, rng):
            return candidate


def deterministic_private_key(seed: str, index: int) -> rsa.RSAPrivateKey:
    """An RSA-2048 key that depends only on (seed, index): about a second in pure Python."""
    rng = random.Random(f"entra-guard-test-key:{seed}:{index}")
    p = _random_prime(rng, RSA_BITS // 2)
    q = _random_prime(rng, RSA_BITS // 2)
    while q == p:
        q = _random_prime(rng, RSA_BITS // 2)
    lam = math.lcm(p - 1, q - 1)
    d = pow(PUBLIC_EXPONENT, -1, lam)
    public = rsa.RSAPublicNumbers(PUBLIC_EXPONENT, p * q)
    return rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), public
    ).private_key()


class KeyPool:
    """The i-th key of a process (or of a seed): generated on first use, then reused."""

    def __init__(self, seed: str | None = None):
        self.seed = seed
        self._keys: dict[int, KeyPair] = {}
        self._lock = threading.Lock()

    def key(self, index: int) -> KeyPair:
        with self._lock:
            if index not in self._keys:
                if self.seed is None:
                    private = rsa.generate_private_key(PUBLIC_EXPONENT, RSA_BITS)
                else:
                    private = deterministic_private_key(self.seed, index)
                self._keys[index] = KeyPair.from_private_key(private)
            return self._keys[index]


_POOLS: dict[str | None, KeyPool] = {}
_POOLS_LOCK = threading.Lock()


def key_pool(seed: str | None = None) -> KeyPool:
    """The shared pool of this process for `seed` (None: random keys)."""
    with _POOLS_LOCK:
        return _POOLS.setdefault(seed, KeyPool(seed))


# --- the issuer's key state ----------------------------------------------------------

SIGNING, RETIRED, UNPUBLISHED = "signing", "retired", "unpublished"


class KeyRing:
    """Which keys the issuer publishes, which one signs, and deliberately bad ones.

    - `signing`: signs tokens and tokens from the token endpoint.
    - `published`: the keys of the JWKS, newest first.
    - `retired`: keys that are no longer published, newest first. Until a rotation
      retires one, a reserved key plays the part, so "signed with a retired key"
      needs no rotation first.
    - `unpublished`: a valid RSA key that is never published.

    Pool indexes: 0 signs first, 1 is the unpublished key, 2 the reserved retired
    one; rotations take 3, 4, ... The reserved keys are generated on first use (a
    seeded pool spends about half a second per key).
    """

    _UNPUBLISHED, _RESERVED_RETIRED, _FIRST_ROTATION = 1, 2, 3

    def __init__(self, pool: KeyPool | None = None):
        self._pool = pool or key_pool()
        self._lock = threading.Lock()
        self._signing = self._pool.key(0)
        self._published = [self._signing]
        self._retired: list[KeyPair] = []
        self._next_index = self._FIRST_ROTATION

    @property
    def signing(self) -> KeyPair:
        with self._lock:
            return self._signing

    @property
    def unpublished(self) -> KeyPair:
        return self._pool.key(self._UNPUBLISHED)

    def published(self) -> list[KeyPair]:
        with self._lock:
            return list(self._published)

    def retired(self) -> list[KeyPair]:
        with self._lock:
            retired = list(self._retired)
        return retired or [self._pool.key(self._RESERVED_RETIRED)]

    def rotate(self, keep_old: bool = True, switch_signing: bool = True) -> KeyPair:
        """Publish a new key; without `keep_old` the previous keys are retired at once."""
        with self._lock:
            index = self._next_index
            self._next_index += 1
        new = self._pool.key(index)  # outside the lock: may take a while
        with self._lock:
            if keep_old:
                self._published = [new, *self._published]
            else:
                self._retired = [*self._published, *self._retired]
                self._published = [new]
            if switch_signing:
                self._signing = new
        return new

    def retire(self, kid: str) -> KeyPair:
        """Stop publishing the key `kid` (it may still sign, for tests)."""
        with self._lock:
            key = self._find(kid, self._published)
            self._published = [k for k in self._published if k.kid != kid]
            self._retired = [key, *self._retired]
            return key

    def use_for_signing(self, kid: str) -> KeyPair:
        """Sign with an already known key (published, retired or the unpublished one)."""
        key = self.resolve(kid)
        with self._lock:
            self._signing = key
        return key

    def resolve(self, which: str | KeyPair) -> KeyPair:
        """A key by role (`signing`, `retired`, `unpublished`), by kid, or as given."""
        if isinstance(which, KeyPair):
            return which
        if which == SIGNING:
            return self.signing
        if which == RETIRED:
            return self.retired()[0]
        if which == UNPUBLISHED:
            return self.unpublished
        return self._find(which, [*self.published(), *self.retired(), self.unpublished])

    def snapshot(self) -> dict:
        return {
            "signing": self.signing.kid,
            "published": [k.kid for k in self.published()],
            "retired": [k.kid for k in self.retired()],
            "unpublished": self.unpublished.kid,
        }

    @staticmethod
    def _find(kid: str, keys: list[KeyPair]) -> KeyPair:
        for key in keys:
            if key.kid == kid:
                return key
        raise KeyError(f"no key with kid {kid!r}")
