#!/usr/bin/env python3
"""An independent tlog-tiles client and witness for shiplog's tests.

Written from c2sp.org/tlog-tiles, tlog-checkpoint, signed-note and tlog-cosignature with the
standard library and python3-nacl only; it shares no code with shiplog.

  follow URL LEDGER_VKEY      fetch /checkpoint, verify the ledger's signature with its note
                              verifier key, fetch every tile and entry bundle the tree needs,
                              check each entry against the level-0 tiles and every upper tile
                              against the tiles below, recompute the root, compare.
  vkey NAME SEED_HEX          print a witness's cosignature/v1 verifier key (type 0x04)
  cosign NAME SEED_HEX NOTE_FILE TIMESTAMP
                              print the note with the witness's cosignature line appended
  witness PORT_FILE NAME SEED_HEX LEDGER_VKEY REQUESTS
                              a c2sp.org/tlog-witness add-checkpoint server on 127.0.0.1 (its
                              port written to PORT_FILE) that checks the ledger's signature and
                              the consistency proof from the last size it cosigned; exits after
                              REQUESTS requests or 60 seconds
"""
import base64
import hashlib
import http.server
import os
import struct
import sys
import time
import urllib.request

import nacl.signing

WIDTH = 256


def key_id(name, type_byte, key):
    return hashlib.sha256(name.encode() + b"\n" + bytes([type_byte]) + key).digest()[:4]


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as reply:
        return reply.read()


def tile_index(n):
    digits = "%d" % n
    digits = "0" * ((3 - len(digits) % 3) % 3) + digits
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    return "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])


def tile_path(level, n, width):
    path = "tile/%s/%s" % (level, tile_index(n))
    return path + (".p/%d" % width if width < WIDTH else "")


def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes):
    """RFC 6962 2.1 over already-hashed leaves."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def open_checkpoint(note, vkey):
    name, hex_id, key_b64 = vkey.split("+", 2)  # base64 may hold "+"
    typed = base64.b64decode(key_b64)
    assert typed[0] == 0x01 and len(typed) == 33, "ledger vkey is not an Ed25519 note key"
    key = typed[1:]
    assert key_id(name, 0x01, key).hex() == hex_id, "vkey id does not match"
    text, _, sigs = note.partition("\n\n")
    text += "\n"
    verified = False
    for line in sigs.splitlines():
        assert line.startswith("\u2014 "), "bad signature line %r" % line
        sig_name, blob = line[2:].split(" ")
        blob = base64.b64decode(blob)
        if sig_name == name and blob[:4] == bytes.fromhex(hex_id):
            nacl.signing.VerifyKey(key).verify(text.encode(), blob[4:])
            verified = True
    assert verified, "no signature by the ledger key"
    lines = text.split("\n")
    assert lines[0] == name, "origin %r is not the key name" % lines[0]
    return int(lines[1]), base64.b64decode(lines[2])


def read_entries(bundle):
    entries, at = [], 0
    while at < len(bundle):
        (length,) = struct.unpack(">H", bundle[at:at + 2])
        entries.append(bundle[at + 2:at + 2 + length])
        at += 2 + length
    return entries


def fetch_level(url, level, count):
    """All `count` hashes of one tile level: full tiles, then the partial one."""
    hashes = []
    for n in range((count + WIDTH - 1) // WIDTH):
        width = min(WIDTH, count - n * WIDTH)
        tile = fetch(url + "/" + tile_path(level, n, width))
        assert len(tile) == 32 * width, "%s is %d bytes" % (tile_path(level, n, width), len(tile))
        hashes += [tile[i:i + 32] for i in range(0, len(tile), 32)]
    return hashes


def follow(url, vkey):
    size, root = open_checkpoint(fetch(url + "/checkpoint").decode(), vkey)
    leaves = fetch_level(url, 0, size)
    entries = []
    for n in range((size + WIDTH - 1) // WIDTH):
        width = min(WIDTH, size - n * WIDTH)
        path = tile_path("entries", n, width)
        bundle = read_entries(fetch(url + "/" + path))
        assert len(bundle) == width, "%s holds %d entries" % (path, len(bundle))
        entries += bundle
    for i, entry in enumerate(entries):
        assert leaf_hash(entry) == leaves[i], "entry %d does not hash to its level-0 tile hash" % i
    below, level, tiles = leaves, 1, 0
    while size >= WIDTH ** level:
        upper = fetch_level(url, level, size // WIDTH ** level)
        for i, h in enumerate(upper):
            assert h == mth(below[i * WIDTH:(i + 1) * WIDTH]), "level %d hash %d" % (level, i)
        tiles += len(upper)
        below, level = upper, level + 1
    assert mth(leaves) == root, "the tiles' root is not the checkpoint's"
    print("ok size %d root %s entries %d upper-hashes %d" % (size, root.hex(), len(entries), tiles))


def witness_key(seed_hex):
    return nacl.signing.SigningKey(bytes.fromhex(seed_hex))


def vkey_of(name, seed_hex):
    key = bytes(witness_key(seed_hex).verify_key)
    return "%s+%s+%s" % (name, key_id(name, 0x04, key).hex(),
                         base64.b64encode(b"\x04" + key).decode())


def cosignature_line(name, seed_hex, note, timestamp):
    text = note.partition("\n\n")[0] + "\n"
    message = b"cosignature/v1\ntime %d\n" % timestamp + text.encode()
    sk = witness_key(seed_hex)
    signature = sk.sign(message).signature
    blob = key_id(name, 0x04, bytes(sk.verify_key)) + struct.pack(">Q", timestamp) + signature
    return "\u2014 %s %s\n" % (name, base64.b64encode(blob).decode())


def cosign(name, seed_hex, note, timestamp):
    return note + cosignature_line(name, seed_hex, note, timestamp)


def consistent(first, second, proof, first_hash, second_hash):
    """RFC 9162 2.1.4.2."""
    if first == second:
        return not proof and first_hash == second_hash
    if first == 0:
        return not proof
    if first & (first - 1) == 0:
        proof = [first_hash] + proof
    if not proof:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_hash and sr == second_hash


def witness(port_file, name, seed_hex, ledger_vkey, requests):
    state = {"size": 0, "root": None, "handled": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, status, body, content_type="text/plain"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            state["handled"] += 1
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            head, _, note = body.partition("\n\n")
            lines = head.split("\n")
            old = int(lines[0][len("old "):])
            proof = [base64.b64decode(line) for line in lines[1:]]
            try:
                size, root = open_checkpoint(note, ledger_vkey)
            except Exception as e:  # a checkpoint the witness cannot trust
                return self.answer(403, str(e).encode())
            if old > size:
                return self.answer(400, b"old size above the checkpoint's")
            if old != state["size"]:
                return self.answer(409, b"%d\n" % state["size"], "text/x.tlog.size")
            if not consistent(old, size, proof, state["root"], root):
                return self.answer(422 if old != size else 409, b"not consistent")
            state["size"], state["root"] = size, root
            line = cosignature_line(name, seed_hex, note, int(time.time()))
            self.answer(200, line.encode())

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 1
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    deadline = time.time() + 60
    while state["handled"] < requests and time.time() < deadline:
        server.handle_request()
    print("witness size %d" % state["size"])


def main(argv):
    if argv[1] == "follow":
        follow(argv[2], argv[3])
    elif argv[1] == "vkey":
        print(vkey_of(argv[2], argv[3]))
    elif argv[1] == "witness":
        witness(argv[2], argv[3], argv[4], argv[5], int(argv[6]))
    elif argv[1] == "cosign":
        with open(argv[4], encoding="utf-8") as f:
            sys.stdout.write(cosign(argv[2], argv[3], f.read(), int(argv[5])))
    else:
        raise SystemExit("unknown command " + argv[1])


if __name__ == "__main__":
    main(sys.argv)
