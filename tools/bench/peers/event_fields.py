#!/usr/bin/env python3
"""Reads a file of signed events (JSON lines, as `shiplog sign` prints them) and writes, for the
first N, the fields a peer stores them under: deployment, id, kind, actor and the line itself.

A signed envelope carries the event only as its canonical Cap'n Proto bytes (base64 "payload"), so
the fields are read from there: word 0 is the root pointer to Event (schemas/event.capnp), whose
pointers 0..2 are id, actor, deployment and whose first data field is the body union's
discriminant. Kind names come from that schema file, so a new kind needs no change here. A line
that already names "deployment" and "id" at its top level is taken as it is.

Usage: event_fields.py EVENTS_FILE --count N --format tsv|csv [--out FILE]
  tsv: deployment, id, kind, actor, line (JSON lines hold no raw tab or newline)
  csv: n (1-based), deployment, id, kind, actor, line
"""

import argparse
import base64
import csv
import json
import os
import re
import struct
import sys

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'schemas',
                      'event.capnp')


def kinds_by_discriminant(schema_path):
    """The body union's members in ordinal order; a union's discriminants follow that order."""
    with open(schema_path, encoding='utf-8') as schema:
        text = schema.read()
    event = re.search(r'struct Event \{.*?body :union \{(.*?)\n  \}', text, re.S)
    if not event:
        sys.exit(f'event_fields: no Event.body union in {schema_path}')
    members = re.findall(r'\w+ @(\d+) :\w+ \$kind\("([^"]+)"\)', event.group(1))
    return [kind for _, kind in sorted(members, key=lambda member: int(member[0]))]


class CapnpStruct:
    """Read-only view of one struct in a single-segment canonical message."""

    def __init__(self, message, pointer_index):
        word = struct.unpack_from('<Q', message, pointer_index * 8)[0]
        if word & 3 != 0:
            raise ValueError('the root pointer is not a struct pointer')
        offset = _signed30(word >> 2)
        self.message = message
        self.data_start = pointer_index + 1 + offset
        self.data_words = (word >> 32) & 0xFFFF
        self.pointer_count = (word >> 48) & 0xFFFF

    def uint16(self, slot):
        if slot * 2 >= self.data_words * 8:
            return 0  # canonical form drops trailing zero words
        return struct.unpack_from('<H', self.message, self.data_start * 8 + slot * 2)[0]

    def text(self, index):
        if index >= self.pointer_count:
            return ''  # canonical form drops trailing null pointers
        at = self.data_start + self.data_words + index
        word = struct.unpack_from('<Q', self.message, at * 8)[0]
        if word == 0:
            return ''
        if word & 3 != 1 or (word >> 32) & 7 != 2:
            raise ValueError(f'pointer {index} is not a Text pointer')
        start = (at + 1 + _signed30(word >> 2)) * 8
        length = (word >> 35) - 1  # the count includes the NUL terminator
        return self.message[start:start + length].decode('utf-8')


def _signed30(value):
    value &= 0x3FFFFFFF
    return value - (1 << 30) if value & (1 << 29) else value


def fields_of(line, kinds, line_number):
    envelope = json.loads(line)
    if 'deployment' in envelope and 'id' in envelope:
        return (envelope['deployment'], envelope['id'], envelope.get('kind', ''),
                envelope.get('actor', ''))
    if 'payload' not in envelope:
        raise ValueError('neither a signed envelope (payload) nor an event (deployment, id)')
    event = CapnpStruct(base64.b64decode(envelope['payload']), 0)
    discriminant = event.uint16(0)
    if discriminant >= len(kinds):
        raise ValueError(f'unknown kind number {discriminant}')
    return event.text(2), event.text(0), kinds[discriminant], event.text(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('events')
    parser.add_argument('--count', type=int, required=True)
    parser.add_argument('--format', choices=('tsv', 'csv'), required=True)
    parser.add_argument('--out', default='-')
    args = parser.parse_args()

    kinds = kinds_by_discriminant(SCHEMA)
    out = sys.stdout if args.out == '-' else open(args.out, 'w', encoding='utf-8', newline='')
    writer = csv.writer(out, lineterminator='\n') if args.format == 'csv' else None
    written = 0
    with open(args.events, encoding='utf-8') as events:
        for line_number, line in enumerate(events, 1):
            if written == args.count:
                break
            line = line.strip()
            if not line:
                continue
            try:
                deployment, event_id, kind, actor = fields_of(line, kinds, line_number)
            except (ValueError, KeyError, struct.error) as error:
                sys.exit(f'event_fields: {args.events}:{line_number}: {error}')
            written += 1
            if writer:
                writer.writerow([written, deployment, event_id, kind, actor, line])
            else:
                if '\t' in line:
                    sys.exit(f'event_fields: {args.events}:{line_number}: a raw tab in the line')
                out.write(f'{deployment}\t{event_id}\t{kind}\t{actor}\t{line}\n')
    out.flush()
    if written < args.count:
        print(f'event_fields: {args.events} holds only {written} events, not {args.count}',
              file=sys.stderr)


if __name__ == '__main__':
    main()
