// Who signed what, from the ledger's own key records. A timeline entry names its signer
// ("who.name"), which verify.js cannot bind: the name comes from the key's enrolment, not from
// the entry's record. The page reads the enrolments (and the genesis, which enrols the admin),
// verifies them like any record, and checks each entry's name against the enrolment of its key.

import {compareQueryRecordSafe} from './verification.js';

// Map public key (hex) -> [{seq, name}] in ledger order, from verified records only.
export async function loadKeyBook(api, session) {
  const [genesis, enrolled] = await Promise.all([
    api.lines('/v1/query', {to_seq: 0}),
    api.lines('/v1/query', {kind: 'key.enrolled'}),
  ]);
  const records = [...genesis.filter((r) => r.seq === 0), ...enrolled];
  const verified = new Set();
  await session.check(records.map((record) => ({
    row: null, cell: null,
    checks: [{seq: record.seq, compare: (decoded) => compareQueryRecordSafe(decoded, record),
      onVerified: () => verified.add(record.seq)}],
  })));
  const book = new Map();
  const add = (key, seq, name) => {
    const k = String(key || '').toLowerCase();
    if (!book.has(k)) book.set(k, []);
    book.get(k).push({seq, name: String(name ?? '')});
  };
  for (const record of records) {
    if (!verified.has(record.seq)) continue;
    const e = record.event || {};
    if (record.seq === 0) add(e.admin_key, 0, e.admin_name);
    else add(e.public_key, record.seq, e.name);
  }
  return book;
}

// Null when the entry's signer name is the one its key was enrolled under before the entry (or
// the key is not one the book knows: an unknown key is shown as the event's actor, which the
// entry's own check covers); else what differs.
export function compareSigner(book, entry) {
  if (!book || !entry.who) return null;
  const enrolments = book.get(String(entry.who.public_key || '').toLowerCase());
  if (!enrolments) return null;
  const before = enrolments.filter((e) => e.seq < Number(entry.seq));
  if (!before.length) return null;
  const name = before[before.length - 1].name;
  return name === entry.who.name ? null
    : `the page shows the signer as "${entry.who.name}" but the key's enrolment (#${before[before.length - 1].seq}) names "${name}"`;
}
