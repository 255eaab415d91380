#!/usr/bin/env python3
"""An independent signer of shiplog reads: standard library and python3-nacl only, written from
RFC 9421 (HTTP Message Signatures), not from shiplog's code.

The request is signed over "@method", "@path", "@query" (section 2.2.7: "?" and the query, or "?"
alone) and the Date header (an IMF-fixdate, RFC 9110), with the parameters created, keyid (hex
SHA-256 of the 32-byte Ed25519 public key), alg="ed25519" and a random nonce. The signature base
is one line per component, '"<name>": <value>', then '"@signature-params": <inner list>' (section
2.5), signed with Ed25519 (section 3.3.6).

With --no-date it signs as a browser must (a page may not set Date): "@method", "@path" and
"@query" only, and sends no Date header; `created` alone dates the signature.

Usage: sign_read.py URL KEY_FILE TARGET [--no-date]
Prints the answer's body and exits 0 on HTTP 200; prints "HTTP <status>: <body>" to stderr and
exits 1 otherwise.
"""

import binascii
import email.utils
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request

import nacl.signing


def main():
    url, key_file, target = sys.argv[1:4]
    with_date = "--no-date" not in sys.argv[4:]
    with open(key_file) as f:
        key = json.load(f)
    signer = nacl.signing.SigningKey(binascii.unhexlify(key["secret"]))
    public = bytes(signer.verify_key)
    keyid = hashlib.sha256(public).hexdigest()

    path, _, query = target.partition("?")
    now = int(time.time())
    date = email.utils.formatdate(now, usegmt=True)
    nonce = binascii.hexlify(os.urandom(16)).decode()
    # Another order than shiplog's own client uses: the signature base follows the list's order.
    covered = '("date" "@method" "@path" "@query")' if with_date else '("@method" "@path" "@query")'
    params = ('%s;created=%d;keyid="%s";alg="ed25519";nonce="%s"' % (covered, now, keyid, nonce))
    base = "\n".join(([('"date": ' + date)] if with_date else []) + [
        '"@method": GET',
        '"@path": ' + path,
        '"@query": ?' + query,
        '"@signature-params": ' + params,
    ])
    signature = signer.sign(base.encode()).signature
    headers = {
        "Signature-Input": "py=" + params,
        "Signature": "py=:" + binascii.b2a_base64(signature, newline=False).decode() + ":",
    }
    if with_date:
        headers["Date"] = date
    request = urllib.request.Request(url + target, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            sys.stdout.write(answer.read().decode())
            return 0
    except urllib.error.HTTPError as e:
        sys.stderr.write("HTTP %d: %s\n" % (e.code, e.read().decode(errors="replace")))
        return 1


if __name__ == "__main__":
    sys.exit(main())
