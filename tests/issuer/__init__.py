"""Entra ID simulator for entra-guard's tests: keys, token minting and an HTTP IdP.

Import with `tests/` on sys.path (pytest.ini of tests/integration does that):

    from issuer import Issuer, REMOVE
    from issuer.tokens import forge_alg_none
"""

from .constants import (
    DEFAULT_API_APP_ID,
    DEFAULT_API_URI,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TENANT,
)
from .issuer import Issuer
from .keys import KeyPair, KeyRing
from .tokens import REMOVE, TokenMinter

__all__ = [
    "DEFAULT_API_APP_ID",
    "DEFAULT_API_URI",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_TENANT",
    "REMOVE",
    "Issuer",
    "KeyPair",
    "KeyRing",
    "TokenMinter",
]
