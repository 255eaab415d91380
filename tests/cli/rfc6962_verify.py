#!/usr/bin/env python3
"""An independent RFC 6962 / RFC 9162 proof verifier, standard library only.

Reads proof JSON documents printed by `shiplog proof inclusion` and `shiplog proof consistency`
and checks them the way any transparency-log client would: the hashes are recomputed from the
leaf hash (or the older tree's root) and the audit path, following RFC 9162 section 2.1.3.2
(verifying an inclusion proof) and section 2.1.4.2 (verifying a consistency proof), and compared
with the root hash on the third line of the checkpoint note (C2SP tlog-checkpoint: origin, tree
size, base64 root). It does not check the notes' Ed25519 signatures (hashlib has no Ed25519);
`shiplog verify-proof` does that.

Usage: rfc6962_verify.py PROOF.json [PROOF.json ...]   ("-" reads one document from stdin)
Exit status: 0 when every document verifies, 1 otherwise. One line per document on stdout.
"""

import base64
import binascii
import hashlib
import json
import sys


class Refuted(Exception):
    """The document does not verify (or cannot be read as a proof)."""


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def hex_hash(text, what):
    try:
        value = binascii.unhexlify(text)
    except (binascii.Error, TypeError, ValueError):
        raise Refuted(f"{what} is not hex")
    if len(value) != 32:
        raise Refuted(f"{what} is not a 32-byte hash")
    return value


def note_head(note, what):
    """(size, root) from a checkpoint note's text: origin, size, base64 root."""
    if not isinstance(note, str):
        raise Refuted(f"{what} is not a note")
    lines = note.split("\n")
    if len(lines) < 3:
        raise Refuted(f"{what} has no size and root lines")
    size_line, root_line = lines[1], lines[2]
    if not size_line.isdigit() or (len(size_line) > 1 and size_line[0] == "0"):
        raise Refuted(f"{what}'s size {size_line!r} is not a decimal number")
    try:
        root = base64.b64decode(root_line, validate=True)
    except (binascii.Error, ValueError):
        raise Refuted(f"{what}'s root is not base64")
    if len(root) != 32:
        raise Refuted(f"{what}'s root is not 32 bytes")
    return int(size_line), root


def is_power_of_two(n):
    return n > 0 and n & (n - 1) == 0


def verify_inclusion(leaf_index, tree_size, leaf_hash, path, root):
    """RFC 9162 2.1.3.2."""
    if leaf_index >= tree_size:
        return False
    fn, sn = leaf_index, tree_size - 1
    r = leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, path):
    """RFC 9162 2.1.4.2. Equal sizes prove nothing but equal roots (with an empty path), the
    convention RFC 9162 leaves to clients; a first size of 0 is refused."""
    if first == 0 or first > second:
        return False
    if first == second:
        return not path and first_hash == second_hash
    if not path:
        return False
    if is_power_of_two(first):
        path = [first_hash] + list(path)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def number(doc, field):
    value = doc.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Refuted(f'"{field}" is not a non-negative integer')
    return value


def hashes(doc, field):
    value = doc.get(field)
    if not isinstance(value, list):
        raise Refuted(f'"{field}" is not a list')
    return [hex_hash(h, f'"{field}" entry {i}') for i, h in enumerate(value)]


def check(doc):
    """Returns a description of what verified; raises Refuted otherwise."""
    if not isinstance(doc, dict):
        raise Refuted("not a JSON object")
    kind = doc.get("type")
    if kind == "inclusion":
        seq, size = number(doc, "seq"), number(doc, "size")
        note_size, root = note_head(doc.get("checkpoint"), "the checkpoint")
        if note_size != size:
            raise Refuted(f"the checkpoint is at size {note_size}, the proof says {size}")
        leaf = hex_hash(doc.get("leaf_hash"), '"leaf_hash"')
        if not verify_inclusion(seq, size, leaf, hashes(doc, "proof"), root):
            raise Refuted(f"leaf {seq} is not proved in the tree of size {size}")
        return f"inclusion of {seq} in {size}"
    if kind == "consistency":
        first, second = number(doc, "from"), number(doc, "to")
        old_size, old_root = note_head(doc.get("old_checkpoint"), "the old checkpoint")
        new_size, new_root = note_head(doc.get("new_checkpoint"), "the new checkpoint")
        if (old_size, new_size) != (first, second):
            raise Refuted("the checkpoints' sizes are not the proof's")
        if not verify_consistency(first, second, old_root, new_root, hashes(doc, "proof")):
            raise Refuted(f"the tree of size {first} is not proved a prefix of size {second}")
        return f"consistency from {first} to {second}"
    raise Refuted('"type" is neither "inclusion" nor "consistency"')


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 1
    all_ok = True
    for name in argv[1:]:
        try:
            text = sys.stdin.read() if name == "-" else open(name, encoding="utf-8").read()
            try:
                doc = json.loads(text)
            except ValueError:
                raise Refuted("not JSON")
            print(f"ok {name}: {check(doc)}")
        except (Refuted, OSError) as e:
            print(f"FAIL {name}: {e}")
            all_ok = False
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
