#!/usr/bin/env python3
"""An independent DSSE signer for the tests: PAE and Ed25519 from python3-nacl, written from
secure-systems-lab/dsse protocol.md v1.0.2, nothing from shiplog.

usage: dsse_sign.py KEY_FILE PAYLOAD_TYPE PAYLOAD_FILE   (prints the envelope's JSON)
KEY_FILE is a shiplog key file: {"type": "ed25519", "secret": "<seed hex>", ...}.
"""
import base64
import hashlib
import json
import sys

import nacl.signing


def pae(payload_type: bytes, payload: bytes) -> bytes:
    return b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(payload), payload)


def main() -> None:
    key_file, payload_type, payload_file = sys.argv[1:4]
    with open(key_file) as f:
        seed = bytes.fromhex(json.load(f)["secret"])
    with open(payload_file, "rb") as f:
        payload = f.read()
    key = nacl.signing.SigningKey(seed)
    signature = key.sign(pae(payload_type.encode(), payload)).signature
    keyid = hashlib.sha256(bytes(key.verify_key)).hexdigest()
    print(json.dumps({
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": keyid, "sig": base64.b64encode(signature).decode()}],
    }))


if __name__ == "__main__":
    main()
