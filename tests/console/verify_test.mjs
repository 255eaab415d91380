// Checks the console's in-browser verifier (adapters/console/verify.js) in Node, with WebCrypto as
// a browser has it:
//   node tests/console/verify_test.mjs FIXTURE
// FIXTURE is written by tests/replay/console_verify_test.cc from a real ledger: {schema,
// checkpoint, ledger_key, deployment, records: [{seq, entry, proof, record, timeline_entry}]}.
// Every record must verify and decode to exactly what the server wrote, and each kind of
// tampering must be flagged with a problem that says what it is. The published vectors
// (tests/vectors: RFC 6962 / 9162 inclusion proofs, RFC 8032 Ed25519, Cap'n Proto's canonical
// form) go through the same functions. Prints one line per test and "N passed, M failed"; exits 1
// when any failed. Plain Node: no packages.
import {readFileSync} from 'node:fs';

import * as verify from '../../adapters/console/verify.js';

const fixture = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const {schema, checkpoint, ledger_key: ledgerKey} = fixture;
const vectors = (name) =>
    JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));

// ---- a tiny runner ----

const tests = [];
const test = (name, fn) => tests.push({name, fn});

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function checkEqual(got, want, what) {
  const g = JSON.stringify(got, bigints), w = JSON.stringify(want, bigints);
  check(g === w, `${what}: got ${g}, want ${w}`);
}

function bigints(key, value) {
  return typeof value === 'bigint' ? `${value}n` : value;
}

function includes(text, part, what) {
  check(
      typeof text === 'string' && text.includes(part), `${what}: '${text}' does not say '${part}'`);
}

// ---- the fixture's answer, and ways to alter it ----

const answer = () =>
    fixture.records.map(({seq, entry, proof}) => ({seq, entry, proof: [...proof]}));

async function verifyAnswer(changes = {}) {
  return verify.verifyRecords(
      {schema, checkpoint, records: answer(), pinnedKey: ledgerKey, ...changes});
}

let verifiedOnce = null;
async function verified() {
  verifiedOnce ??= await verifyAnswer();
  return verifiedOnce;
}

function fixtureRecord(predicate, what) {
  const found = fixture.records.find(predicate);
  if (!found) throw new Error(`the fixture has no ${what}`);
  return found;
}

const byKind = (kind) => (r) => r.record.event.kind === kind;
const deniedRecord = () =>
    fixtureRecord((r) => r.record.event.kind === 'policy.denied' && r.timeline_entry, 'denial');
const waiverRecord = () => fixtureRecord(byKind('waiver.granted'), 'waiver');

// Every record not ok, each problem naming `part`.
function allFlagged(results, part, what) {
  check(results.size === fixture.records.length, `${what}: ${results.size} results`);
  for (const [seq, result] of results) {
    check(!result.ok, `${what}: seq ${seq} is ok`);
    includes(result.problem, part, `${what}, seq ${seq}`);
  }
}

function withEntryBytes(record, change) {
  const bytes = verify.base64ToBytes(record.entry);
  change(bytes);
  return verify.bytesToBase64(bytes);
}

// Sets byte `at` of an entry to `value(old byte)`.
const setByte = (at, value) => (bytes) => bytes.set([value(bytes[at])], at);

// `records` verified: the result for `seq`.
async function verifiedOne(records, seq) {
  return (await verify.verifyRecords({schema, checkpoint, records, pinnedKey: ledgerKey})).get(seq);
}

// The checkpoint's note with line `index` (0: origin, 1: size, 2: root) rewritten.
function noteWithLine(index, rewrite) {
  const lines = checkpoint.checkpoint.split('\n');
  lines[index] = rewrite(lines[index]);
  return {...checkpoint, checkpoint: lines.join('\n')};
}

// ---- the fixture verifies and decodes to the server's JSON ----

test('the fixture holds every shape a record takes', async () => {
  const events = fixture.records.map((r) => r.record.event);
  for (const kind
           of ['ledger.genesis', 'key.enrolled', 'deploy.requested', 'review', 'gate.result',
               'waiver.granted', 'policy.denied', 'traffic.shifted', 'rollback.started',
               'maintenance.window', 'incident.opened']) {
    check(events.some((e) => e.kind === kind), `no ${kind} record`);
  }
  check(fixture.records.some((r) => r.record.missing), 'no record with missing fields');
  check(fixture.records.some((r) => r.record.manual_clock), 'no manual-clock record');
  const results = await verified();
  const decoded = [...results.values()].map((r) => r.decoded);
  check(
      decoded.filter((d) => d.scheme === 'dsse-ed25519').length >= 2,
      'fewer than two DSSE records');
  check(decoded.some((d) => d.denied?.scheme === 'dsse-ed25519'), 'no denied DSSE attempt');
  check(
      decoded.some((d) => d.denied?.scheme === 'shiplog-ed25519-capnp-v1'),
      'no denied capnp attempt');
});

test('every record verifies against the signed checkpoint', async () => {
  const results = await verified();
  check(results.size === fixture.records.length, `${results.size} results`);
  for (const [seq, result] of results) check(result.ok, `seq ${seq}: ${result.problem}`);
});

test('decoded events are the JSON the server writes, byte for byte', async () => {
  const results = await verified();
  for (const {seq, record} of fixture.records) {
    const decoded = results.get(seq).decoded;
    checkEqual(decoded.event, record.event, `seq ${seq} event`);
    checkEqual(decoded.seq, record.seq, `seq ${seq} seq`);
    checkEqual(decoded.ledger_time, record.ledger_time, `seq ${seq} ledger_time`);
    checkEqual(decoded.leaf_hash, record.leaf_hash, `seq ${seq} leaf_hash`);
    checkEqual(decoded.public_key, record.public_key, `seq ${seq} public_key`);
    checkEqual(decoded.missing, record.missing ?? [], `seq ${seq} missing`);
    if (record.decision !== undefined) {
      checkEqual(JSON.parse(decoded.decision), record.decision, `seq ${seq} decision`);
    } else {
      checkEqual(decoded.decision, '', `seq ${seq} decision`);
    }
  }
});

test('a denial decodes to the denied event and its decision', async () => {
  const results = await verified();
  const {seq, timeline_entry: entry} = deniedRecord();
  const denied = results.get(seq).decoded.denied;
  checkEqual(denied.denied_event, entry.fields, 'denied_event');
  checkEqual(verify.normalizeDecision(denied.decision), entry.decision, 'decision');
  check(denied.problem === null, denied.problem);
});

test('every query record and timeline entry shown matches its verified record', async () => {
  const results = await verified();
  let timelineEntries = 0;
  for (const {seq, record, timeline_entry: entry} of fixture.records) {
    const decoded = results.get(seq).decoded;
    checkEqual(verify.compareQueryRecord(decoded, record), null, `seq ${seq} query record`);
    if (!entry) continue;
    timelineEntries++;
    checkEqual(verify.compareTimelineEntry(decoded, entry), null, `seq ${seq} timeline entry`);
  }
  check(timelineEntries >= 15, `only ${timelineEntries} timeline entries`);
});

test('the timeline summary is recomputed exactly', async () => {
  for (const {timeline_entry: entry} of fixture.records.filter((r) => r.timeline_entry)) {
    if (entry.denied) continue;
    checkEqual(
        verify.timelineSummary(entry.kind, entry.fields), entry.summary,
        `seq ${entry.seq} summary`);
  }
});

// ---- tampering ----

test('a flipped byte anywhere in an entry is flagged', async () => {
  const target = fixtureRecord(byKind('deploy.requested'), 'request');
  const length = verify.base64ToBytes(target.entry).length;
  for (let at = 0; at < length; at += 13) {
    const entry = withEntryBytes(target, setByte(at, (old) => old ^ 0x10));
    const result = await verifiedOne([{...target, entry}], target.seq);
    check(!result.ok && result.problem, `byte ${at} flipped: still ok`);
  }
});

test('a changed text in an entry breaks its inclusion proof', async () => {
  const target = waiverRecord();
  const bytes = verify.base64ToBytes(target.entry);
  const at = Buffer.from(bytes).indexOf(Buffer.from('hotfix'));
  check(at > 0, 'the reason is not in the entry');
  const entry = withEntryBytes(target, setByte(at, () => 'H'.charCodeAt(0)));
  const records = answer().map((r) => (r.seq === target.seq ? {...r, entry} : r));
  const result = await verifiedOne(records, target.seq);
  check(!result.ok, 'still ok');
  includes(result.problem, 'inclusion proof does not lead', 'problem');
  includes(result.decoded.event.reason, 'Hotfix', 'the decoded (altered) reason');
});

test('a changed, missing or extra proof hash is flagged', async () => {
  const target = fixture.records[Math.floor(fixture.records.length / 2)];
  const alter = async (proof) => {
    const records = answer().map((r) => (r.seq === target.seq ? {...r, proof} : r));
    return (await verify.verifyRecords({schema, checkpoint, records, pinnedKey: ledgerKey}))
        .get(target.seq);
  };
  const changed = [...target.proof];
  changed[0] = (changed[0][0] === '0' ? '1' : '0') + changed[0].slice(1);
  for (const [what, proof] of [
           ['changed', changed], ['missing', target.proof.slice(1)],
           ['extra', [...target.proof, target.proof[0]]]]) {
    const result = await alter(proof);
    check(!result.ok, `${what}: still ok`);
    includes(result.problem, 'inclusion proof does not lead', what);
  }
  const result = await alter(['zz']);
  check(!result.ok, 'non-hex: still ok');
  includes(result.problem, 'not hex', 'non-hex');
});

test('an entry answered under another seq is flagged', async () => {
  const [a, b] = [fixture.records[3], fixture.records[4]];
  const records =
      answer().map((r) => (r.seq === a.seq ? {seq: a.seq, entry: b.entry, proof: b.proof} : r));
  const result =
      (await verify.verifyRecords({schema, checkpoint, records, pinnedKey: ledgerKey})).get(a.seq);
  check(!result.ok, 'still ok');
  includes(result.problem, `the entry is seq ${b.seq}, not seq ${a.seq}`, 'problem');
});

test('a record left out or answered twice is flagged', async () => {
  const records = answer();
  records.push(records[1]);
  const results = await verify.verifyRecords(
      {schema, checkpoint, records, pinnedKey: ledgerKey, seqs: [1, 99999]});
  includes(results.get(99999).problem, 'holds no record for seq 99999', 'left out');
  includes(results.get(1).problem, 'seq 1 twice', 'twice');
  check(results.get(2).ok, 'an unaltered record is not ok');
});

test('a checkpoint with a changed root or size is flagged for every record', async () => {
  const root = noteWithLine(
      2, (line) => verify.bytesToBase64(verify.base64ToBytes(line).map((b, i) => (i ? b : b ^ 1))));
  allFlagged(
      await verifyAnswer({checkpoint: root}), "the ledger's signature does not verify", 'root');
  const size = noteWithLine(1, (line) => String(Number(line) + 1));
  allFlagged(
      await verifyAnswer({checkpoint: size}), "the ledger's signature does not verify", 'size');
  const origin = noteWithLine(0, (line) => `${line}x`);
  allFlagged(
      await verifyAnswer({checkpoint: origin}), 'no signature by the pinned ledger key', 'origin');
  const unsigned = {...checkpoint, checkpoint: checkpoint.checkpoint.replace(/\n\n[^]*$/, '\n\n')};
  allFlagged(
      await verifyAnswer({checkpoint: unsigned}), 'no signature by the pinned ledger key',
      'no signature');
  allFlagged(
      await verifyAnswer({checkpoint: {...checkpoint, checkpoint: undefined}}),
      'no signed checkpoint', 'absent');
});

test('a wrong pinned key fails every record', async () => {
  const other = ledgerKey.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
  allFlagged(
      await verifyAnswer({pinnedKey: other}), 'no signature by the pinned ledger key', 'wrong key');
  allFlagged(
      await verifyAnswer({pinnedKey: 'nothex'}), 'the pinned ledger key is not hex', 'not hex');
});

test("the checkpoint's unsigned fields must say what its note says", async () => {
  for (const [name, value] of [
           ['root_hash', '00'.repeat(32)], ['size', checkpoint.size + 5],
           ['time', '2030-01-01T00:00:00Z'], ['manual_clock', !checkpoint.manual_clock],
           ['origin', 'elsewhere']]) {
    allFlagged(
        await verifyAnswer({checkpoint: {...checkpoint, [name]: value}}),
        `'${name}' is not what its signed note says`, name);
  }
});

test('changed fields in a shown timeline entry are named', async () => {
  const results = await verified();
  const waiver = waiverRecord();
  const decoded = results.get(waiver.seq).decoded;
  const cases = [
    ['fields.reason', (e) => (e.fields.reason = 'routine')],
    ['fields.actor', (e) => (e.fields.actor = 'marta')],
    ['fields.extra', (e) => (e.fields.extra = 1)],
    ['summary', (e) => (e.summary = 'waived R1')],
    ['waiver.reason', (e) => (e.waiver.reason = 'routine')],
    ['waiver.rule', (e) => (e.waiver.rule = 'R3')],
    ['who.public_key', (e) => (e.who.public_key = '00'.repeat(32))],
    ['time', (e) => (e.time = '2026-11-24T18:00:01Z')],
    ['seq', (e) => (e.seq += 1)],
    ['kind', (e) => (e.kind = 'review')],
    ['denied', (e) => (e.denied = true)],
    ['step', (e) => (e.step = 'production')],
  ];
  for (const [want, change] of cases) {
    const entry = structuredClone(waiver.timeline_entry);
    change(entry);
    checkEqual(verify.compareTimelineEntry(decoded, entry), want, want);
  }
  // What the timeline takes from the key registry is not bound: changing it passes.
  const renamed = structuredClone(waiver.timeline_entry);
  renamed.who.name = 'someone';
  renamed.waiver.holder = 'someone';
  checkEqual(verify.compareTimelineEntry(decoded, renamed), null, 'who.name');
});

test('a changed decision in a shown timeline entry is named', async () => {
  const results = await verified();
  const denial = deniedRecord();
  const decoded = results.get(denial.seq).decoded;
  const cases = [
    ['decision.allowed', (e) => (e.decision.allowed = true)],
    ['decision.reasons[0].message', (e) => (e.decision.reasons[0].message = 'fine')],
    ['decision.reasons', (e) => (e.decision.reasons = [])],
    ['decision', (e) => (delete e.decision)],
    ['fields.step', (e) => (e.fields.step = 'staging')],
    ['denied', (e) => (e.denied = false)],
    ['summary', (e) => (e.summary = 'started production')],
  ];
  for (const [want, change] of cases) {
    const entry = structuredClone(denial.timeline_entry);
    change(entry);
    checkEqual(verify.compareTimelineEntry(decoded, entry), want, want);
  }
  const allowed = fixtureRecord(
      (r) => r.timeline_entry?.decision?.allowed && r.timeline_entry.decision.evidence.length,
      'allow');
  const entry = structuredClone(allowed.timeline_entry);
  entry.decision.evidence[0].events.push(1);
  includes(
      verify.compareTimelineEntry(results.get(allowed.seq).decoded, entry),
      'decision.evidence[0].events', 'evidence');
});

test('changed fields in a shown query record are named', async () => {
  const results = await verified();
  const target = fixtureRecord(
      (r) => r.record.decision && r.record.event.kind === 'policy.denied', 'denial record');
  const decoded = results.get(target.seq).decoded;
  const cases = [
    ['event.actor', (r) => (r.event.actor = 'rutger2')],
    ['event.decision', (r) => (r.event.decision = '{}')],
    ['decision.allowed', (r) => (r.decision.allowed = true)],
    ['decision', (r) => (delete r.decision)],
    ['leaf_hash', (r) => (r.leaf_hash = '00'.repeat(32))],
    ['signature', (r) => (r.signature = r.signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')))],
    ['ledger_time', (r) => (r.ledger_time = '2026-11-24T18:10:00.000001Z')],
    ['manual_clock', (r) => (delete r.manual_clock)],
    ['seq', (r) => (r.seq = 1)],
    ['note', (r) => (r.note = 'an extra field')],
  ];
  for (const [want, change] of cases) {
    const record = structuredClone(target.record);
    change(record);
    checkEqual(verify.compareQueryRecord(decoded, record), want, want);
  }
  const rollback = fixtureRecord(byKind('rollback.started'), 'rollback');
  const record = structuredClone(rollback.record);
  delete record.missing;
  checkEqual(
      verify.compareQueryRecord(results.get(rollback.seq).decoded, record), 'missing', 'missing');
});

test("a forged agent signature is flagged, the denied attempt's too", async () => {
  const results = await verified();
  const flip = (bytes) => bytes.map((b, i) => (i === 10 ? b ^ 1 : b));
  for (const scheme of ['shiplog-ed25519-capnp-v1', 'dsse-ed25519']) {
    const {decoded} =
        [...results.values()].find((r) => r.decoded.scheme === scheme && !r.decoded.denied);
    check((await verify.verifyEventSignature(decoded)) === null, `${scheme}: does not verify`);
    const forged = {...decoded, signature: flip(decoded.signature)};
    Object.defineProperty(forged, 'schema', {value: schema});
    const problem = await verify.verifyEventSignature(forged);
    includes(problem, "the record's signature", scheme);
    const deniedOne =
        [...results.values()].find((r) => r.decoded.denied?.scheme === scheme).decoded;
    const forgedDenial = {
      ...deniedOne,
      denied: {...deniedOne.denied, signature: flip(deniedOne.denied.signature)}
    };
    includes(
        await verify.verifyEventSignature(forgedDenial, schema), "the denied intent's signature",
        `${scheme} denial`);
  }
});

test('entries that are not canonical or do not decode throw, naming the fault', async () => {
  const entry = verify.base64ToBytes(fixture.records[2].entry);
  const expectThrow = (bytes, part) => {
    let message = null;
    try {
      verify.decodeEntry(schema, bytes);
    } catch (error) {
      message = error.message;
    }
    includes(message, part, part);
  };
  expectThrow(new Uint8Array([...entry, 0, 0, 0, 0, 0, 0, 0, 0]), 'words after the last object');
  expectThrow(entry.slice(0, entry.length - 8), 'runs outside the message');
  expectThrow(entry.slice(0, 5), 'not a whole number of 8-byte words');
  const far = entry.slice();
  far[0] = (far[0] & ~3) | 2;
  expectThrow(far, 'far pointer');
  check(verify.isCanonical(entry), 'the entry is not canonical');
});

// ---- published vectors ----

const hex = (h) => verify.hexToBytes(h);

test('RFC 6962 / 9162 inclusion vectors (transparency-dev/merkle, Rekor)', async () => {
  const {inclusion, inclusion_real_world: realWorld} = vectors('rfc6962.json');
  for (const v of [...inclusion, ...realWorld]) {
    const leaf = v.leaf_input !== undefined && v.leaf_input !== null && v.expect_valid ?
        await verify.leafHash(hex(v.leaf_input)) :
        hex(v.leaf_hash);
    const got = await verify.verifyInclusion(
        v.leaf_index, v.tree_size, leaf, v.proof.map(hex), hex(v.root));
    check(got === v.expect_valid, `${v.source_file ?? ''} ${v.desc}: got ${got}`);
  }
  check(inclusion.length + realWorld.length > 100, 'too few vectors');
});

test('RFC 9162 inclusion proofs of every leaf of trees 1..8', async () => {
  for (const v of vectors('rfc6962_derived_all.json').inclusion) {
    checkEqual(
        verify.bytesToHex(await verify.leafHash(hex(v.leaf_input))), v.leaf_hash, 'leaf hash');
    check(
        await verify.verifyInclusion(
            v.leaf_index, v.tree_size, hex(v.leaf_hash), v.proof.map(hex), hex(v.root)),
        `leaf ${v.leaf_index} of ${v.tree_size}`);
  }
});

test('RFC 8032 Ed25519 vectors through WebCrypto', async () => {
  const {vectors: good, negative} = vectors('ed25519_rfc8032.json');
  for (const v of good) {
    check(await verify.ed25519Verify(hex(v.public_key), hex(v.message), hex(v.signature)), v.name);
  }
  for (const v of negative) {
    check(
        !(await verify.ed25519Verify(hex(v.public_key), hex(v.message), hex(v.signature))), v.desc);
  }
});

test("Cap'n Proto canonical-form vectors (canonicalize-test.c++, v0.9.2)", () => {
  const cases = [
    ['0000000002000000 1111111111111111 0000000000000080', true],
    ['0000000000000100 0100000017000000 0400000002000000 2222222222222222 0000000000000080', true],
    ['0000000000000200 0400000001000000 fcffffff00000000 eeeeeeeeeeeeeeee', true],
    ['0000000000000200 0400000001000000 0400000000000000 eeeeeeeeeeeeeeee', false],
    ['0000000000000200 0800000001000000 0000000001000000 0001020304050607 0706050403020100', false],
    ['0300000001000000 0000000000000000 0001020304050607', false],
    ['0400000001000000 0000000000000000 0001020304050607', false],
    ['0000000001000000 0000000000000000', false],
    ['0000000001000000 0001020304050607 0000000000000000', false],
    ['0000000000000100 0100000007000000 0000000000000000', true],
  ];
  for (const [words, want] of cases) {
    checkEqual(verify.isCanonical(hex(words.replace(/ /g, ''))), want, words);
  }
});

test('times print as the server prints them', () => {
  const cases = [
    [0n, '1970-01-01T00:00:00Z'],
    [-1n, '1969-12-31T23:59:59.999999Z'],
    [1795543200000000n, '2026-11-24T18:00:00Z'],
    [1795543200000250n, '2026-11-24T18:00:00.000250Z'],
    [253402300799999999n, '9999-12-31T23:59:59.999999Z'],
    [253402300800000000n, '+10000-01-01T00:00:00Z'],
    [-62135596800000000n, '0001-01-01T00:00:00Z'],
    [-62135596800000001n, '+0-12-31T23:59:59.999999Z'],
    [-62198755200000000n, '-1-01-01T00:00:00Z'],
  ];
  for (const [micros, want] of cases) checkEqual(verify.formatTime(micros), want, String(micros));
});

test('base64 and hex are read strictly', () => {
  for (const bad of ['AB==', 'AAA', 'A', 'AA=A', ' AAAA', 'AA-_']) {
    let threw = false;
    try {
      verify.base64ToBytes(bad);
    } catch {
      threw = true;
    }
    check(threw, `'${bad}' was taken`);
  }
  checkEqual([...verify.base64ToBytes('AAEC')], [0, 1, 2], 'AAEC');
  checkEqual(verify.bytesToBase64(Uint8Array.of(0xfb, 0xff)), '+/8=', 'bytesToBase64');
});

// ---- run ----

let failed = 0;
for (const {name, fn} of tests) {
  try {
    await fn();
    console.log(`ok    ${name}`);
  } catch (error) {
    failed++;
    console.log(`FAIL  ${name}\n      ${error.stack.replace(/\n/g, '\n      ')}`);
  }
}
console.log(`${tests.length - failed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
