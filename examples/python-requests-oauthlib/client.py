"""Calls a Keyward-protected API with 2-legged OAuth 1.0a signed requests, from Python.

The consumer key is the Keyward key id, the consumer secret is its secret, and there is no
token. requests-oauthlib signs with HMAC-SHA256 (or HMAC-SHA1), puts a fresh nonce and
timestamp in each request, and signs the parameters of a form body too.
"""

import os
import sys

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256
from requests import Session
from requests_oauthlib import OAuth1

api = os.environ.get("API_URL", "http://127.0.0.1:3000")
auth = OAuth1(
    client_key=os.environ["KEY_ID"],
    client_secret=os.environ["SECRET"],
    signature_method=SIGNATURE_HMAC_SHA256,
    signature_type="AUTH_HEADER",
)

with Session() as http:
    listed = http.get(f"{api}/orders", params={"status": "open & paid"}, auth=auth, timeout=10)
    listed.raise_for_status()
    print("GET /orders", listed.status_code, listed.json()["method"])

    # A form body: its parameters are part of the signature (RFC 5849 section 3.4.1.3.1).
    created = http.post(f"{api}/orders", data={"item": "gadget", "qty": "2"}, auth=auth, timeout=10)
    created.raise_for_status()
    print("POST /orders", created.status_code, created.json()["created"])

    # The same request again with its nonce: a replay, which Keyward refuses.
    replay = created.request.copy()
    again = http.send(replay, timeout=10)
    print("replay", again.status_code, again.json()["error"]["code"])

sys.exit(0)
