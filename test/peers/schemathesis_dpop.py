"""Schemathesis hooks for Bastion: every request carries a real DPoP proof (RFC 9449).

The broker refuses any request without a fresh proof signed by a key an accord names, so
a fuzzer without one would only ever test the authentication edge. This hook signs a proof
for each request's method and URL with the test principal's key and, on the invoke routes,
sends the test's AC in `Authorization: DPoP` with its hash in the proof (`ath`).

Environment (set by test/server/schemathesis.test.ts):
  BASTION_ST_URL  the broker's base URL (what `htu` names)
  BASTION_ST_KEY  the principal's Ed25519 private key, PKCS#8 PEM
  BASTION_ST_AC   an AC bound to that key, for the invoke routes
"""
import base64
import hashlib
import json
import os
import time
import uuid

import schemathesis
from cryptography.hazmat.primitives import serialization

_BASE = os.environ["BASTION_ST_URL"].rstrip("/")
_AC = os.environ["BASTION_ST_AC"]
with open(os.environ["BASTION_ST_KEY"], "rb") as handle:
    _KEY = serialization.load_pem_private_key(handle.read(), password=None)
_X = _KEY.public_key().public_bytes(
    serialization.Encoding.Raw, serialization.PublicFormat.Raw
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json(value: dict) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _proof(method: str, url: str, ac: str | None) -> str:
    header = {"typ": "dpop+jwt", "alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": _b64(_X)}}
    claims = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
    if ac is not None:
        claims["ath"] = _b64(hashlib.sha256(ac.encode("ascii")).digest())
    signing_input = f"{_json(header)}.{_json(claims)}"
    return f"{signing_input}.{_b64(_KEY.sign(signing_input.encode('ascii')))}"


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    if case.headers is None:
        case.headers = {}
    invoke = case.operation.path.endswith("/invoke")
    case.headers["DPoP"] = _proof(case.method.upper(), _BASE + case.formatted_path, _AC if invoke else None)
    if invoke:
        case.headers["Authorization"] = f"DPoP {_AC}"
