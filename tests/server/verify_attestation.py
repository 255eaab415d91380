#!/usr/bin/env python3
"""An independent check of a shiplog deploy-authorization attestation: standard library and
python3-nacl only, written from the specs, not from shiplog's code.

  - the key: a PEM PKIX SubjectPublicKeyInfo (RFC 8410) whose DER is the 12-byte Ed25519 prefix
    30 2a 30 05 06 03 2b 65 70 03 21 00 and the 32 key bytes;
  - the envelope: DSSE v1 (secure-systems-lab/dsse protocol.md), the signature Ed25519 over
    PAE = "DSSEv1" SP len(type) SP type SP len(body) SP body, keyid = hex SHA-256 of the key;
  - the statement: in-toto Statement v1 whose subject is the image (name before '@', its sha256)
    and whose predicate says the environment and step expected, allowed;
  - the receipt: the leaf hash is SHA-256(0x00 || entry), the RFC 9162 inclusion proof leads from
    it to the checkpoint's root (tests/cli/rfc6962_verify.py), and the checkpoint note's signature
    verifies under the C2SP signed-note verifier key "<name>+<hex key id>+<base64(0x01 || key)>".

Usage: verify_attestation.py ENVELOPE.json KEY.pem VERIFIER_KEY IMAGE ENVIRONMENT STEP
Exit status 0 when it all verifies (one line "ok ..."), 1 with "refused: <why>" otherwise.
"""

import base64
import binascii
import hashlib
import json
import os
import sys

import nacl.exceptions
import nacl.signing

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from rfc6962_verify import note_head, verify_inclusion  # noqa: E402

ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
PREDICATE_TYPE = "https://shiplog.dev/attestation/deploy-authorization/v1"


class Refused(Exception):
    pass


def require(condition, why):
    if not condition:
        raise Refused(why)


def pem_key(text):
    lines = text.strip().splitlines()
    require(lines[0] == "-----BEGIN PUBLIC KEY-----" and lines[-1] == "-----END PUBLIC KEY-----",
            "the PEM is not a PUBLIC KEY block")
    der = base64.b64decode("".join(lines[1:-1]), validate=True)
    require(len(der) == 44 and der.startswith(ED25519_SPKI_PREFIX),
            "the PEM is not an Ed25519 SubjectPublicKeyInfo")
    return der[len(ED25519_SPKI_PREFIX):]


def pae(payload_type, body):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def verify_envelope(envelope, key):
    require(envelope.get("payloadType") == "application/vnd.in-toto+json", "payloadType")
    body = base64.b64decode(envelope["payload"], validate=True)
    keyid = hashlib.sha256(key).hexdigest()
    message = pae(envelope["payloadType"], body)
    for s in envelope.get("signatures", []):
        if s.get("keyid") != keyid:
            continue
        try:
            nacl.signing.VerifyKey(key).verify(message, base64.b64decode(s["sig"], validate=True))
            return json.loads(body)
        except nacl.exceptions.BadSignatureError:
            raise Refused("the DSSE signature does not verify over PAE")
    raise Refused("no signature with keyid " + keyid)


def check_statement(statement, image, environment, step):
    require(statement.get("_type") == "https://in-toto.io/Statement/v1", "_type")
    require(statement.get("predicateType") == PREDICATE_TYPE, "predicateType")
    name, digest = image.rsplit("@", 1)
    require(statement["subject"] == [{"name": name, "digest": {"sha256": digest[len("sha256:"):]}}],
            "the subject is not the image " + image)
    p = statement["predicate"]
    require(p["image"] == image, "predicate.image")
    require(p["environment"] == environment, "predicate.environment is " + repr(p["environment"]))
    require(p["step"] == step, "predicate.step is " + repr(p["step"]))
    require(p["decision"]["allowed"] is True, "predicate.decision.allowed")
    require(p["decision"]["policy_sha256"] == p["policy"]["sha256"], "the policy's sha256")
    require(p["receipt"]["seq"] == p["seq"], "the receipt is not of the record attested")
    return p


def verify_note(note, vkey):
    # The name holds no "+" (signed-note); the base64 key may.
    name, key_id, typed = vkey.split("+", 2)
    typed = base64.b64decode(typed, validate=True)
    require(typed[0] == 1 and len(typed) == 33, "the verifier key is not an Ed25519 key")
    key = typed[1:]
    require(hashlib.sha256(name.encode() + b"\n" + typed).hexdigest()[:8] == key_id,
            "the verifier key's id is not its hash")
    text, signatures = note.split("\n\n", 1)
    text += "\n"
    require(text.split("\n")[0] == name, "the checkpoint's origin is not " + name)
    for line in signatures.splitlines():
        dash_name, blob = line.rsplit(" ", 1)
        blob = base64.b64decode(blob, validate=True)
        if dash_name != "\u2014 " + name or blob[:4].hex() != key_id:
            continue
        try:
            nacl.signing.VerifyKey(key).verify(text.encode(), blob[4:])
            return key
        except nacl.exceptions.BadSignatureError:
            raise Refused("the checkpoint's signature does not verify")
    raise Refused("the checkpoint has no signature by " + vkey)


def check_receipt(receipt, vkey):
    entry = base64.b64decode(receipt["entry"], validate=True)
    leaf_hash = hashlib.sha256(b"\x00" + entry).digest()
    require(leaf_hash.hex() == receipt["leaf_hash"], "the leaf hash is not the entry's")
    size, root = note_head(receipt["checkpoint"], "the checkpoint")
    path = [binascii.unhexlify(h) for h in receipt["inclusion_proof"]]
    require(verify_inclusion(receipt["seq"], size, leaf_hash, path, root),
            "the inclusion proof does not lead to the checkpoint's root")
    return verify_note(receipt["checkpoint"], vkey), size


def main(argv):
    envelope_file, pem_file, vkey, image, environment, step = argv[1:7]
    with open(pem_file) as f:
        key = pem_key(f.read())
    with open(envelope_file) as f:
        envelope = json.load(f)
    statement = verify_envelope(envelope, key)
    p = check_statement(statement, image, environment, step)
    note_key, size = check_receipt(p["receipt"], vkey)
    require(note_key == key, "the checkpoint is signed by another key than the PEM's")
    require(p["ledger"]["note_verifier_key"] == vkey, "predicate.ledger.note_verifier_key")
    print(f"ok seq {p['seq']} in tree of {size}: {image} to {environment} ({step}), "
          f"manual_clock={p['manual_clock']}")


if __name__ == "__main__":
    try:
        main(sys.argv)
    except (Refused, KeyError, IndexError, TypeError, ValueError) as e:
        print(f"refused: {e}")
        sys.exit(1)
