// verify.js: the console's "verify in the browser, trust nothing" (issue 21).
//
// What it promises. verifyRecords() calls a record of a /v1/records answer ok only when
//   1. the checkpoint's signed note carries an Ed25519 signature by the ledger key the user pinned,
//      under the note's origin (C2SP signed note, ledger/checkpoint.h), and the answer's unsigned
//      copies of its fields (origin, size, root_hash, time, manual_clock) say what the note says;
//   2. the record's leaf input ("entry") hashes, as RFC 6962 hashes a leaf (SHA-256(0x00 ||
//      entry)), to a leaf that the RFC 9162 inclusion proof leads to the checkpoint's root, at the
//      seq asked for;
//   3. the entry is canonical Cap'n Proto of schemas/record.capnp Entry (one segment, no segment
//      table, every object in preorder, nothing left over) and decodes, with the event inside, to
//      the JSON the server's Event::ToJson (ledger/event.cc) writes, driven by the schema the
//      server describes by reflection (/ui/schema.json, adapters/console_schema.h);
//   4. the agent's Ed25519 signature over the event, or over its DSSE envelope's PAE, verifies;
//      for a denial, the denied attempt's signature too.
// compareTimelineEntry() and compareQueryRecord() then check that what the server's other
// answers show about a record is what the verified record says; each says what it binds.
//
// What it does not promise: that the signer's key was enrolled with the roles the event needed
// (that is the key registry, the server's word unless the page verifies the key records too);
// that the checkpoint is the latest or consistent with one seen before (no consistency proof or
// witness is checked here); that an event read from an in-toto statement is what the statement
// says (the ledger checked that on append; the browser checks the envelope's signature); anything
// about records the page did not ask for.
//
// The API a page uses:
//   verifyRecords({schema, checkpoint, records, pinnedKey, seqs})    Map seq -> {ok, problem, ...}
//   compareTimelineEntry(decoded, entry), compareQueryRecord(decoded, record)    null or a field
//   decodeEntry(schema, bytes), openCheckpoint(note, keyHex), verifyEventSignature(decoded)
// and the primitives under them: leafHash, verifyInclusion, ed25519Verify, pae, formatTime,
// timelineSummary, normalizeDecision, isCanonical, hex and base64 helpers. The checks say what is
// wrong in words (a problem string, or an Error that names it); only the primitives answer a bare
// true or false.
//
// Runs in browsers and in Node >= 20: WebCrypto (SHA-256, Ed25519), TextEncoder/TextDecoder and
// BigInt, nothing else.

// ---- bytes ----

const utf8Encoder = new TextEncoder();
// fatal: bytes that are not UTF-8 are an error, never replaced; ignoreBOM: a leading U+FEFF is
// text like any other (the server keeps it).
const utf8Decoder = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true});

function utf8(text) {
  return utf8Encoder.encode(text);
}

function decodeUtf8(bytes, what) {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new Error(`${what} is not valid UTF-8`);
  }
}

function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

export function hexToBytes(hex, what = 'the hex text') {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new Error(`${what} is not hex`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const HEX_DIGITS = Array.from({length: 256}, (_, b) => b.toString(16).padStart(2, '0'));

export function bytesToHex(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX_DIGITS[bytes[i]];
  return out;
}

const BASE64_STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function encodeBase64(bytes, alphabet, padded) {
  const parts = [];
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    let quad = '';
    for (let c = 0; c < chars; c++) quad += alphabet[(n >> (18 - 6 * c)) & 63];
    parts.push(padded ? quad.padEnd(4, '=') : quad);
  }
  return parts.join('');
}

const base64Digits = new Map();  // alphabet -> Int8Array of each character's value, -1 for none

function digitsOf(alphabet) {
  if (!base64Digits.has(alphabet)) {
    const table = new Int8Array(128).fill(-1);
    for (let i = 0; i < 64; i++) table[alphabet.charCodeAt(i)] = i;
    base64Digits.set(alphabet, table);
  }
  return base64Digits.get(alphabet);
}

// Decodes base64 in one alphabet and padding, refusing text that is not the one encoding of its
// bytes (stray characters, whitespace, set bits past the data), as the server's decoders do.
function decodeBase64(text, alphabet, padded, what) {
  if (typeof text !== 'string') throw new Error(`${what} is not base64 text`);
  const body = padded ? text.replace(/={1,2}$/, '') : text;
  const table = digitsOf(alphabet);
  const out = new Uint8Array(Math.floor((body.length * 6) / 8));
  let bits = 0, value = 0, at = 0;
  for (let i = 0; i < body.length; i++) {
    const code = body.charCodeAt(i);
    const digit = code < 128 ? table[code] : -1;
    if (digit < 0) throw new Error(`${what} is not base64`);
    value = ((value << 6) | digit) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (value >> bits) & 0xff;
    }
  }
  if (encodeBase64(out, alphabet, padded) !== text) {
    throw new Error(`${what} is not canonical base64`);
  }
  return out;
}

export function bytesToBase64(bytes) {
  return encodeBase64(bytes, BASE64_STANDARD, true);
}

// Standard base64 with padding: what the server writes (entries, signatures, checkpoint roots).
export function base64ToBytes(text, what = 'the base64 text') {
  return decodeBase64(text, BASE64_STANDARD, true, what);
}

// The base64 a DSSE verifier must take (ledger/dsse.h DecodeBase64): standard with padding, or
// URL-safe with or without it.
const DSSE_BASE64_FORMS = [[BASE64_STANDARD, true], [BASE64_URL, true], [BASE64_URL, false]];

function dsseBase64ToBytes(text, what) {
  for (const [alphabet, padded] of DSSE_BASE64_FORMS) {
    try {
      return decodeBase64(text, alphabet, padded, what);
    } catch {
      // the next form
    }
  }
  throw new Error(`${what} is not base64 in a form DSSE takes`);
}

// A 64-bit integer as a Number when it is exact, a BigInt when it is not.
function exactNumber(big) {
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big;
}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasOwn(object, key) {
  return Object.prototype.hasOwnProperty.call(object, key);
}

// Sets an own property even for a key such as "__proto__" (metric names are the agent's text).
function setKey(object, key, value) {
  Object.defineProperty(object, key, {value, enumerable: true, writable: true, configurable: true});
}

// A UTF-16 unit's rank in code point order, which differs from the units' own only in that
// surrogates (U+10000 and up) come after U+E000..U+FFFF.
function codePointRank(unit) {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  return unit >= 0xe000 ? unit - 0x800 : unit;
}

// UTF-8 byte order (= code point order): the order nlohmann::json keeps an object's keys in.
function compareCodePoints(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

// The object with its keys in the server's order (JavaScript still lists integer-like keys
// first; the order never matters to the comparisons below).
function sortedObject(object) {
  const out = {};
  for (const key of Object.keys(object).sort(compareCodePoints)) setKey(out, key, object[key]);
  return out;
}

// ---- time: ledger/clock.cc FormatTime, exactly ----

function civilFromDays(days) {
  const z = days + 719468;
  const era = Math.trunc((z >= 0 ? z : z - 146096) / 146097);
  const doe = z - era * 146097;
  const yoe = Math.trunc(
      (doe - Math.trunc(doe / 1460) + Math.trunc(doe / 36524) - Math.trunc(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.trunc(yoe / 4) - Math.trunc(yoe / 100));
  const mp = Math.trunc((5 * doy + 2) / 153);
  const day = doy - Math.trunc((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return {year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

const pad = (n, width) => String(n).padStart(width, '0');

// Microseconds since the Unix epoch (BigInt or Number) as RFC 3339, as the server prints them:
// "2026-11-24T18:00:00Z", six fraction digits when there is a fraction, a signed year outside
// 1..9999.
export function formatTime(micros) {
  const perSecond = 1000000n;
  let seconds = BigInt(micros) / perSecond;
  let fraction = BigInt(micros) % perSecond;
  if (fraction < 0n) {
    fraction += perSecond;
    seconds -= 1n;
  }
  let days = seconds / 86400n;
  if (days * 86400n > seconds) days -= 1n;
  const inDay = Number(seconds - days * 86400n);
  const {year, month, day} = civilFromDays(Number(days));
  const yearText = year >= 1 && year <= 9999 ? pad(year, 4) : (year < 0 ? '' : '+') + year;
  const clock = `${pad(Math.trunc(inDay / 3600), 2)}:${pad(Math.trunc(inDay / 60) % 60, 2)}:` +
      pad(inDay % 60, 2);
  const tail = fraction === 0n ? '' : '.' + pad(fraction, 6);
  return `${yearText}-${pad(month, 2)}-${pad(day, 2)}T${clock}${tail}Z`;
}

// ---- Cap'n Proto: a canonical, single-segment message, read with bounds on everything ----

const NESTING_LIMIT = 64;  // as Cap'n Proto's ReaderOptions: no deeper objects
const ELEMENT_BITS = [0, 1, 8, 16, 32, 64, 64, 0];  // by list element size code

// One segment of 8-byte little-endian words; word 0 is the root pointer.
class Segment {
  constructor(bytes, what) {
    if (!(bytes instanceof Uint8Array)) throw new Error(`${what} is not bytes`);
    if (bytes.length === 0 || bytes.length % 8 !== 0) {
      throw new Error(`${what}: ${bytes.length} bytes is not a whole number of 8-byte words`);
    }
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.words = bytes.length / 8;
    this.what = what;
  }

  fail(problem) {
    throw new Error(`${this.what}: ${problem}`);
  }

  isZero(word) {
    return this.view.getUint32(word * 8, true) === 0 &&
        this.view.getUint32(word * 8 + 4, true) === 0;
  }

  checkRange(start, words, what) {
    if (start < 0 || start + words > this.words) {
      this.fail(`${what} at word ${start} runs outside the message's ${this.words} words`);
    }
  }

  // The pointer in `word`: null, {kind: 'struct', target, dataWords, pointers} or
  // {kind: 'list', target, elementSize, count}. Far and capability pointers are refused: a
  // canonical message has neither.
  pointer(word) {
    this.checkRange(word, 1, 'a pointer');
    if (this.isZero(word)) return null;
    const lo = this.view.getUint32(word * 8, true), hi = this.view.getUint32(word * 8 + 4, true);
    const target = word + 1 + ((lo | 0) >> 2);
    switch (lo & 3) {
      case 0:
        return {kind: 'struct', target, dataWords: hi & 0xffff, pointers: hi >>> 16};
      case 1:
        return {kind: 'list', target, elementSize: hi & 7, count: hi >>> 3};
      case 2:
        return this.fail(`word ${word} is a far pointer (a canonical message has one segment)`);
      default:
        return this.fail(`word ${word} is a capability pointer`);
    }
  }
}

// The canonical-form check of capnp::MessageReader::isCanonical (Cap'n Proto's encoding spec,
// "Canonicalization"), without the schema: every object lies where a preorder walk expects it,
// struct sections are truncated, padding is zero, an empty struct's pointer has offset -1, and
// the objects fill the segment exactly. One byte form per message, each word read once.
class CanonicalWalk {
  constructor(segment) {
    this.seg = segment;
  }

  run() {
    const head = {at: 1};
    this.pointer(0, head, 0);
    if (head.at !== this.seg.words) {
      this.seg.fail(`${this.seg.words - head.at} words after the last object (not canonical)`);
    }
  }

  pointer(word, head, depth) {
    const p = this.seg.pointer(word);
    if (p === null) return;
    if (depth > NESTING_LIMIT) this.seg.fail(`objects nest deeper than ${NESTING_LIMIT}`);
    if (p.kind === 'list') return this.list(word, p, head, depth);
    if (p.dataWords === 0 && p.pointers === 0) {
      if (p.target !== word) {
        this.seg.fail(`the empty struct at word ${word} does not have offset -1`);
      }
      return;
    }
    const {dataTrunc, pointerTrunc} =
        this.struct(p.target, p.dataWords, p.pointers, head, head, depth);
    if (!dataTrunc || !pointerTrunc) {
      this.seg.fail(`the struct at word ${p.target} is not truncated`);
    }
  }

  struct(at, dataWords, pointers, head, pointerHead, depth) {
    if (at !== head.at) this.seg.fail(`the struct at word ${at} is out of preorder`);
    this.seg.checkRange(at, dataWords + pointers, 'a struct');
    const dataTrunc = dataWords === 0 || !this.seg.isZero(at + dataWords - 1);
    const pointerTrunc = pointers === 0 || !this.seg.isZero(at + dataWords + pointers - 1);
    head.at += dataWords + pointers;
    for (let i = 0; i < pointers; i++) this.pointer(at + dataWords + i, pointerHead, depth + 1);
    return {dataTrunc, pointerTrunc};
  }

  list(word, p, head, depth) {
    if (p.elementSize === 7) return this.compositeList(word, p, head, depth);
    if (p.target !== head.at) this.seg.fail(`the list at word ${p.target} is out of preorder`);
    if (p.elementSize === 6) {
      this.seg.checkRange(p.target, p.count, 'a list of pointers');
      head.at += p.count;
      for (let i = 0; i < p.count; i++) this.pointer(p.target + i, head, depth + 1);
      return;
    }
    const bits = p.count * ELEMENT_BITS[p.elementSize];
    const words = Math.ceil(bits / 64);
    this.seg.checkRange(p.target, words, 'a list');
    this.checkPadding(p.target * 8, bits, words * 8);
    head.at += words;
  }

  // The bits after a list's data, to the end of its last word, are zero.
  checkPadding(start, bits, bytes) {
    const bytesUsed = Math.floor(bits / 8);
    if (bits % 8 !== 0 && (this.seg.bytes[start + bytesUsed] >> (bits % 8)) !== 0) {
      this.seg.fail('a list has bits set past its last element');
    }
    for (let i = bytesUsed + (bits % 8 ? 1 : 0); i < bytes; i++) {
      if (this.seg.bytes[start + i] !== 0) {
        this.seg.fail('a list has bytes set past its last element');
      }
    }
  }

  compositeList(word, p, head, depth) {
    if (p.target !== head.at) this.seg.fail(`the list at word ${p.target} is out of preorder`);
    const tag = this.compositeTag(p);
    head.at += 1;
    const elementWords = tag.dataWords + tag.pointers;
    if (elementWords === 0) return;
    const listEnd = head.at + p.count;
    const pointerHead = {at: listEnd};
    let dataTrunc = false, pointerTrunc = false;
    for (let i = 0; i < tag.count; i++) {
      const t = this.struct(head.at, tag.dataWords, tag.pointers, head, pointerHead, depth + 1);
      dataTrunc ||= t.dataTrunc;
      pointerTrunc ||= t.pointerTrunc;
    }
    head.at = pointerHead.at;
    if (!dataTrunc || !pointerTrunc) {
      this.seg.fail(`the structs of the list at word ${p.target} are not truncated`);
    }
  }

  // The tag word of a list of structs: {count, dataWords, pointers}, checked against the list's
  // word count.
  compositeTag(p) {
    this.seg.checkRange(p.target, 1 + p.count, 'a list of structs');
    const lo = this.seg.view.getUint32(p.target * 8, true),
          hi = this.seg.view.getUint32(p.target * 8 + 4, true);
    if ((lo & 3) !== 0) {
      this.seg.fail(`the list at word ${p.target} has a tag that is not a struct's`);
    }
    const tag = {count: lo >>> 2, dataWords: hi & 0xffff, pointers: hi >>> 16};
    if (tag.count * (tag.dataWords + tag.pointers) !== p.count) {
      this.seg.fail(`the list at word ${p.target} does not hold the words its tag says`);
    }
    return tag;
  }
}

// True when `bytes` are a canonical single-segment Cap'n Proto message (any schema).
export function isCanonical(bytes) {
  try {
    new CanonicalWalk(new Segment(bytes, 'the message')).run();
    return true;
  } catch {
    return false;
  }
}

const FIELD_BITS = {
  bool: 1,
  int8: 8,
  uint8: 8,
  int16: 16,
  uint16: 16,
  enum: 16,
  int32: 32,
  uint32: 32,
  float32: 32,
  int64: 64,
  uint64: 64,
  float64: 64,
};

// A struct in a segment: its data section and its pointers. A null pointer reads as an empty
// struct, every field at its default, as Cap'n Proto reads it.
class StructView {
  constructor(seg, at, dataWords, pointers, depth) {
    Object.assign(this, {seg, at, dataWords, pointers, depth});
  }

  // The stored bits of a data field (unsigned, as a BigInt), 0 beyond the data section.
  bits(width, offset) {
    const bit = offset * width;
    if (bit + width > this.dataWords * 64) return 0n;
    const byte = this.at * 8 + Math.floor(bit / 8);
    const v = this.seg.view;
    switch (width) {
      case 1:
        return BigInt((this.seg.bytes[byte] >> (bit % 8)) & 1);
      case 8:
        return BigInt(v.getUint8(byte));
      case 16:
        return BigInt(v.getUint16(byte, true));
      case 32:
        return BigInt(v.getUint32(byte, true));
      default:
        return v.getBigUint64(byte, true);
    }
  }

  // The word index of pointer `index`, or -1 beyond the pointer section.
  pointerWord(index) {
    return index < this.pointers ? this.at + this.dataWords + index : -1;
  }
}

function readRoot(bytes, what) {
  const seg = new Segment(bytes, what);
  new CanonicalWalk(seg).run();
  return readStruct(seg, 0, 0, 'the root');
}

function readStruct(seg, word, depth, what) {
  const p = word < 0 ? null : seg.pointer(word);
  if (p === null) return new StructView(seg, 0, 0, 0, depth);
  if (p.kind !== 'struct') seg.fail(`${what} is not a struct`);
  if (depth > NESTING_LIMIT) seg.fail(`objects nest deeper than ${NESTING_LIMIT}`);
  seg.checkRange(p.target, p.dataWords + p.pointers, what);
  return new StructView(seg, p.target, p.dataWords, p.pointers, depth);
}

// A list of bytes (Text and Data): null when the pointer is null.
function readByteList(seg, word, what) {
  const p = word < 0 ? null : seg.pointer(word);
  if (p === null) return null;
  if (p.kind !== 'list' || p.elementSize !== 2) seg.fail(`${what} is not a list of bytes`);
  seg.checkRange(p.target, Math.ceil(p.count / 8), what);
  return seg.bytes.subarray(p.target * 8, p.target * 8 + p.count);
}

// Text: its bytes without the NUL that must end them ("" for null), cut at the first NUL as the
// server's std::string(cStr()) cuts it.
function readText(seg, word, what) {
  const bytes = readByteList(seg, word, what);
  if (bytes === null) return '';
  if (bytes.length === 0 || bytes[bytes.length - 1] !== 0) {
    seg.fail(`${what} is not NUL-terminated text`);
  }
  const nul = bytes.indexOf(0);
  return decodeUtf8(bytes.subarray(0, nul), `${seg.what}: ${what}`);
}

function readData(seg, word, what) {
  const bytes = readByteList(seg, word, what);
  return bytes === null ? new Uint8Array(0) : bytes.slice();
}

// A list's elements: text (a list of pointers) or structs (a composite list).
function readList(seg, word, element, depth, what) {
  const p = word < 0 ? null : seg.pointer(word);
  if (p === null) return [];
  if (p.kind !== 'list') seg.fail(`${what} is not a list`);
  if (element.type === 'text') {
    if (p.elementSize !== 6) seg.fail(`${what} is not a list of text`);
    seg.checkRange(p.target, p.count, what);
    return Array.from({length: p.count}, (_, i) => readText(seg, p.target + i, `${what}[${i}]`));
  }
  if (element.type === 'struct') {
    if (p.elementSize !== 7) seg.fail(`${what} is not a list of structs`);
    const tag = new CanonicalWalk(seg).compositeTag(p);
    const size = tag.dataWords + tag.pointers;
    return Array.from(
        {length: tag.count},
        (_, i) =>
            new StructView(seg, p.target + 1 + i * size, tag.dataWords, tag.pointers, depth + 1));
  }
  return seg.fail(
      `${what} is a list of ${element.type}, which the event's JSON form does not have`);
}

// ---- the schema (adapters/console_schema.h) ----

const schemaCache = new WeakMap();

// The schema, checked and indexed once: structs by name, each field by its Cap'n Proto name.
function schemaContext(schema) {
  if (!isObject(schema) || schema.format !== 'shiplog-console-schema-v1' ||
      !isObject(schema.structs)) {
    throw new Error('the record schema is not a shiplog-console-schema-v1 description');
  }
  let ctx = schemaCache.get(schema);
  if (ctx) return ctx;
  ctx = {schema, structs: new Map()};
  for (const [name, def] of Object.entries(schema.structs)) {
    const byName = new Map(def.fields.map((f) => [f.capnp_name, f]));
    ctx.structs.set(name, {...def, name, byName});
  }
  schemaCache.set(schema, ctx);
  return ctx;
}

function structDef(ctx, name) {
  const def = ctx.structs.get(name);
  if (!def) throw new Error(`the record schema has no struct '${name}'`);
  return def;
}

function fieldOf(def, capnpName) {
  const field = def.byName.get(capnpName);
  if (!field) throw new Error(`the record schema has no field ${def.name}.${capnpName}`);
  return field;
}

// The stored bits of a number field XOR its default: its value's bits.
function valueBits(view, field) {
  const width = FIELD_BITS[field.type];
  const stored = view.bits(width, field.offset);
  if (field.default === undefined) return stored;
  if (field.type.startsWith('float')) {
    throw new Error(`field ${field.capnp_name} has a float default`);
  }
  const fallback = field.default === true ? 1n : BigInt.asUintN(width, BigInt(field.default));
  return stored ^ fallback;
}

function numberOf(field, bits) {
  const buffer = new DataView(new ArrayBuffer(8));
  switch (field.type) {
    case 'bool':
      return bits !== 0n;
    case 'int8':
    case 'int16':
    case 'int32':
      return Number(BigInt.asIntN(FIELD_BITS[field.type], bits));
    case 'int64':
      return exactNumber(BigInt.asIntN(64, bits));
    case 'uint64':
      return exactNumber(bits);
    case 'float32':
      buffer.setUint32(0, Number(bits));
      return buffer.getFloat32(0);
    case 'float64':
      buffer.setBigUint64(0, bits);
      return buffer.getFloat64(0);
    default:
      return Number(bits);  // uint8..uint32, enum
  }
}

const POINTER_TYPES = new Set(['text', 'data', 'list', 'struct', 'interface', 'any_pointer']);

// DynamicStruct::Reader::has(field, NON_DEFAULT): a pointer that is not null, a number or bool
// that is not its default, a group always; a union member only while it is the active one.
function has(def, view, field) {
  if (field.discriminant !== undefined &&
      numberOf({type: 'uint16'}, view.bits(16, def.discriminant_offset)) !== field.discriminant) {
    return false;
  }
  if (field.type === 'group') return true;
  if (field.type === 'void') return false;
  if (POINTER_TYPES.has(field.type)) {
    const word = view.pointerWord(field.offset);
    return word >= 0 && !view.seg.isZero(word);
  }
  return view.bits(FIELD_BITS[field.type], field.offset) !== 0n;
}

// A field's value as the reader sees it: text as a string, data as bytes, numbers, a StructView
// for a struct or group, an array for a list.
function fieldValue(view, field) {
  const what = field.capnp_name;
  if (field.default === 'unsupported') throw new Error(`field ${what} has a pointer default`);
  switch (field.type) {
    case 'text':
      return readText(view.seg, view.pointerWord(field.offset), what);
    case 'data':
      return readData(view.seg, view.pointerWord(field.offset), what);
    case 'struct':
      return readStruct(view.seg, view.pointerWord(field.offset), view.depth + 1, what);
    case 'group':
      return view;
    case 'list':
      return readList(view.seg, view.pointerWord(field.offset), field.element, view.depth, what);
    default:
      return numberOf(field, valueBits(view, field));
  }
}

function get(ctx, def, view, capnpName) {
  return fieldValue(view, fieldOf(def, capnpName));
}

// ---- the event's JSON form: ledger/event.cc StructToJson, ValueToJson, Event::ToJson ----

function structToJson(ctx, def, view) {
  const out = {};
  for (const field of def.fields) {
    if (field.discriminant !== undefined) continue;  // getNonUnionFields()
    // Required fields always appear, even at their zero value (a traffic weight of 0).
    if (!has(def, view, field) && !field.required) continue;
    setKey(out, field.name, valueToJson(ctx, view, field));
  }
  return sortedObject(out);
}

function valueToJson(ctx, view, field) {
  const value = fieldValue(view, field);
  switch (field.type) {
    case 'text':
    case 'bool':
    case 'uint8':
    case 'uint16':
    case 'uint32':
    case 'uint64':
    case 'float64':
      return value;
    case 'data':
      return field.hex ? bytesToHex(value) : bytesToBase64(value);
    case 'int64':
      return field.time ? formatTime(value) : value;
    case 'enum':
      return ctx.schema.enums[field.enum]?.enumerants[value] ?? value;
    case 'struct':
    case 'group':
      return structToJson(ctx, structDef(ctx, field.struct), value);
    case 'list':
      return listToJson(ctx, field, value);
    default:
      return null;  // int8..int32, float32, void: the server's ValueToJson writes null
  }
}

function listToJson(ctx, field, items) {
  if (!field.json_map) {
    if (field.element.type !== 'text') {
      throw new Error(`field ${field.capnp_name} is not a list of text`);
    }
    return items;
  }
  // {name, value} structs as one object, a later name overwriting an earlier one.
  const def = structDef(ctx, field.element.struct);
  const out = {};
  for (const item of items) setKey(out, get(ctx, def, item, 'name'), get(ctx, def, item, 'value'));
  return sortedObject(out);
}

// The body union's active member: its schema field.
function bodyMember(ctx, eventDef, view) {
  const bodyDef = structDef(ctx, fieldOf(eventDef, 'body').struct);
  const which = numberOf({type: 'uint16'}, view.bits(16, bodyDef.discriminant_offset));
  const member = bodyDef.fields.find((f) => f.discriminant === which);
  if (!member) throw new Error('the event has a kind this version does not know');
  return member;
}

// Decodes canonical Event bytes: {json (Event::ToJson), missing ($expected fields left out),
// kind, view, member}.
function decodeEvent(ctx, bytes, what) {
  const eventDef = structDef(ctx, ctx.schema.event);
  const view = readRoot(bytes, what);
  const member = bodyMember(ctx, eventDef, view);
  const json = {
    kind: member.kind ?? member.capnp_name,
    id: get(ctx, eventDef, view, 'id'),
    actor: get(ctx, eventDef, view, 'actor')
  };
  const deployment = get(ctx, eventDef, view, 'deployment');
  if (deployment !== '') json.deployment = deployment;
  let missing = [];
  if (member.type === 'struct') {
    const def = structDef(ctx, member.struct);
    const body = fieldValue(view, member);
    Object.assign(json, structToJson(ctx, def, body));
    missing = missingExpected(ctx, def, body);
  }
  return {json: sortedObject(json), missing, kind: member.kind, view, member};
}

// ledger/event.cc MissingExpectedFields: $expected fields that hold nothing.
function missingExpected(ctx, def, view) {
  const given = (field) => {
    const value = fieldValue(view, field);
    if (['text', 'data', 'list'].includes(field.type)) return value.length > 0;
    if (field.type === 'enum') {
      return (ctx.schema.enums[field.enum]?.enumerants[value] ?? 'unspecified') !== 'unspecified';
    }
    return has(def, view, field);
  };
  return def.fields.filter((f) => f.discriminant === undefined && f.expected && !given(f))
      .map((f) => f.name);
}

// ---- the record: schemas/record.capnp Entry ----

// The signed attempt a SignedEvent or a PolicyDenied holds, and the event read from it.
function signedParts(ctx, def, view, scheme) {
  const eventData = get(ctx, def, view, 'event');
  const payload = get(ctx, def, view, 'payload');
  return {
    scheme,
    public_key: bytesToHex(get(ctx, def, view, 'publicKey')),
    signature: get(ctx, def, view, 'signature'),
    payload,
    event_data: eventData,
    // StoredRecord::FromEntry / SignedEvent::ReadEvent: the payload, or a DSSE record's event.
    event_bytes: scheme === ctx.schema.schemes.dsse ? eventData : payload,
  };
}

// A policy.denied record's attempt: its signed parts, the denied event (null when it does not
// decode, with `problem` saying why) and the decision text.
function decodeDenial(ctx, decodedEvent) {
  const def = structDef(ctx, decodedEvent.member.struct);
  const body = fieldValue(decodedEvent.view, decodedEvent.member);
  const scheme = get(ctx, def, body, 'scheme') || ctx.schema.schemes.capnp;
  const denied = {
    ...signedParts(ctx, def, body, scheme),
    decision: get(ctx, def, body, 'decision'),
    denied_event: null,
    problem: null
  };
  try {
    denied.denied_event = decodeEvent(ctx, denied.event_bytes, 'the denied event').json;
  } catch (error) {
    denied.problem = error.message;
  }
  return denied;
}

// Decodes a record's leaf input (canonical Entry bytes) into what the console shows:
// {seq (Number, or BigInt past 2^53), ledger_time (RFC 3339 as the server prints it),
//  manual_clock, decision (the JSON text, "" when none), scheme, public_key (hex),
//  signature, payload, event_data, event_bytes (Uint8Arrays), event (Event::ToJson),
//  missing ($expected fields left out), denied (null, or for a policy.denied record
//  {denied_event (its JSON, or null), decision (text), problem, scheme, public_key, signature,
//  payload, event_data, event_bytes})}.
// Throws an Error naming the fault for bytes that are not a canonical Entry.
export function decodeEntry(schema, bytes) {
  const ctx = schemaContext(schema);
  const entryDef = structDef(ctx, schema.entry);
  const entry = readRoot(bytes, 'the entry');
  const signedDef = structDef(ctx, fieldOf(entryDef, 'event').struct);
  const signed = get(ctx, entryDef, entry, 'event');
  const parts = signedParts(ctx, signedDef, signed, get(ctx, signedDef, signed, 'scheme'));
  const event = decodeEvent(ctx, parts.event_bytes, 'the event');
  const decoded = {
    seq: get(ctx, entryDef, entry, 'seq'),
    ledger_time: formatTime(get(ctx, entryDef, entry, 'ledgerTime')),
    manual_clock: get(ctx, entryDef, entry, 'manualClock'),
    decision: get(ctx, entryDef, entry, 'decision'),
    ...parts,
    event: event.json,
    missing: event.missing,
    denied: event.kind === 'policy.denied' ? decodeDenial(ctx, event) : null,
  };
  Object.defineProperty(decoded, 'schema', {value: schema});  // for verifyEventSignature
  return decoded;
}

// ---- hashes and the Merkle tree (RFC 6962 / RFC 9162) ----

async function sha256(bytes) {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
}

// SHA-256(0x00 || entry).
export async function leafHash(entry) {
  return sha256(concatBytes(Uint8Array.of(0), entry));
}

async function nodeHash(left, right) {
  return sha256(concatBytes(Uint8Array.of(1), left, right));
}

// nodeHash, remembering each node by its two children in `memo` (a Map): the records of one
// answer are proved to one checkpoint, so their paths share their upper nodes.
function rememberedNodeHash(memo) {
  if (!memo) return nodeHash;
  return (left, right) => {
    const key = bytesToHex(left) + bytesToHex(right);
    if (!memo.has(key)) memo.set(key, nodeHash(left, right));
    return memo.get(key);
  };
}

// RFC 9162 2.1.3.2: whether `proof` (leaf side first) leads from `leafHashBytes`, leaf `index`
// of a tree of `size` leaves, to `root`. Hashes are 32-byte Uint8Arrays; index and size Number
// or BigInt. `memo`, a Map, may be shared by the proofs of one tree.
export async function verifyInclusion(index, size, leafHashBytes, proof, root, memo = null) {
  const hash = rememberedNodeHash(memo);
  let fn = BigInt(index), sn = BigInt(size) - 1n;
  if (fn < 0n || fn > sn) return false;
  if ([leafHashBytes, root, ...proof].some((h) => !(h instanceof Uint8Array) || h.length !== 32)) {
    return false;
  }
  let r = leafHashBytes;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await hash(p, r);
      while (fn !== 0n && (fn & 1n) === 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await hash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equalBytes(r, root);
}

// ---- Ed25519 (WebCrypto) ----

const keyCache = new Map();  // hex -> Promise<CryptoKey>

function importKey(publicKey) {
  const hex = bytesToHex(publicKey);
  if (!keyCache.has(hex)) {
    keyCache.set(
        hex,
        globalThis.crypto.subtle.importKey('raw', publicKey, {name: 'Ed25519'}, false, ['verify']));
  }
  return keyCache.get(hex);
}

// Pure Ed25519 (RFC 8032); false for a key or signature of the wrong size or that does not import.
export async function ed25519Verify(publicKey, message, signature) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return await globalThis.crypto.subtle.verify(
        {name: 'Ed25519'}, await importKey(publicKey), signature, message);
  } catch {
    return false;
  }
}

// ---- checkpoints: C2SP signed notes (ledger/checkpoint.h) ----

const MAX_NOTE_BYTES = 64 * 1024;
const EM_DASH_SPACE = '\u2014 ';

// SignedNote::Parse: {text (above the blank line, each line with its newline), signatures}.
function parseSignedNote(note) {
  if (typeof note !== 'string') throw new Error('the checkpoint is not text');
  if (utf8(note).length > MAX_NOTE_BYTES) throw new Error('the checkpoint note is too large');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) {
    throw new Error('the checkpoint note holds a control character');
  }
  if (!note.endsWith('\n')) throw new Error('the checkpoint note does not end with a newline');
  const split = note.lastIndexOf('\n\n', note.length - 2);
  if (split < 0) throw new Error('the checkpoint note has no blank line before its signatures');
  const rest = note.slice(split + 2, -1);
  const lines = split + 2 >= note.length ? [] : rest.split('\n');
  return {text: note.slice(0, split + 1), signatures: lines.map(parseSignatureLine)};
}

function parseSignatureLine(line) {
  if (!line.startsWith(EM_DASH_SPACE)) {
    throw new Error('a checkpoint signature line does not start with an em dash');
  }
  const rest = line.slice(EM_DASH_SPACE.length);
  const space = rest.indexOf(' ');
  if (space <= 0) throw new Error('a checkpoint signature line has no key name');
  const blob = base64ToBytes(rest.slice(space + 1), 'a checkpoint signature');
  if (blob.length < 4) throw new Error('a checkpoint signature is shorter than its key id');
  const keyId = new DataView(blob.buffer, blob.byteOffset).getUint32(0);
  return {name: rest.slice(0, space), keyId, signature: blob.slice(4)};
}

function parseTreeSize(text) {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(text) || BigInt(text) > 0xffffffffffffffffn) {
    throw new Error(
        `the checkpoint's tree size '${text}' is not a decimal number without leading zeros`);
  }
  return BigInt(text);
}

// The note text: origin, size, root, then the extension lines ("time ...", "manual-clock").
function parseCheckpointText(text) {
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new Error('the checkpoint needs an origin, a size and a root hash');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin === '' || /[\u0000-\u0020+\u007f]/.test(origin)) {
    throw new Error(
        `the checkpoint's origin '${origin}' is empty or has a space, '+' or control character`);
  }
  const root = base64ToBytes(rootText, "the checkpoint's root hash");
  if (root.length !== 32) throw new Error("the checkpoint's root hash is not 32 bytes");
  const head = {origin, size: parseTreeSize(sizeText), root, time: null, manual_clock: false};
  for (const line of extensions) {
    if (line === '') throw new Error('the checkpoint has an empty line in its text');
    if (line.startsWith('time ') && head.time === null) {
      head.time = line.slice(5);
    } else if (line === 'manual-clock') {
      head.manual_clock = true;
    }
  }
  if (head.time === null ||
      !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/.test(head.time)) {
    throw new Error("the checkpoint has no 'time' line with an RFC 3339 time");
  }
  return head;
}

// The signed-note key id: SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian.
async function noteKeyId(name, publicKey) {
  const digest = await sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, 0x01), publicKey));
  return new DataView(digest.buffer).getUint32(0);
}

// Opens a signed checkpoint note with the pinned ledger key (64 hex digits): {origin, size
// (Number, or BigInt past 2^53), root (32 bytes), time (its RFC 3339 text), manual_clock}.
// Throws when the note is malformed, when no signature line by that key under the origin's
// name is there, or when one is and does not verify.
export async function openCheckpoint(noteText, pinnedPublicKeyHex) {
  const publicKey = hexToBytes(pinnedPublicKeyHex, 'the pinned ledger key');
  if (publicKey.length !== 32) throw new Error('the pinned ledger key is not 32 bytes');
  const note = parseSignedNote(noteText);
  const head = parseCheckpointText(note.text);
  const want = await noteKeyId(head.origin, publicKey);
  let verified = false;
  for (const line of note.signatures) {
    if (line.name !== head.origin || line.keyId !== want) continue;  // another key's line
    if (!(await ed25519Verify(publicKey, utf8(note.text), line.signature))) {
      throw new Error(`checkpoint at size ${head.size}: the ledger's signature does not verify`);
    }
    verified = true;
  }
  if (!verified) {
    throw new Error(
        `checkpoint at size ${head.size}: no signature by the pinned ledger key ` +
        `${pinnedPublicKeyHex.slice(0, 16)}... under '${head.origin}'`);
  }
  return {...head, size: exactNumber(head.size)};
}

// The API's checkpoint object: the note opened, and its unsigned fields equal to the note's.
async function openCheckpointObject(checkpoint, pinnedKey) {
  if (!isObject(checkpoint) || typeof checkpoint.checkpoint !== 'string') {
    throw new Error('the answer has no signed checkpoint note');
  }
  const head = await openCheckpoint(checkpoint.checkpoint, pinnedKey);
  const signed = {
    origin: head.origin,
    size: head.size,
    root_hash: bytesToHex(head.root),
    time: head.time,
    manual_clock: head.manual_clock
  };
  for (const [name, value] of Object.entries(signed)) {
    if (hasOwn(checkpoint, name) && firstDifference(value, checkpoint[name]) !== null) {
      throw new Error(`the checkpoint's '${name}' is not what its signed note says`);
    }
  }
  return head;
}

// ---- the agent's signatures ----

// DSSE's PAE: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in bytes.
export function pae(payloadType, body) {
  const type = utf8(payloadType);
  return concatBytes(utf8(`DSSEv1 ${type.length} `), type, utf8(` ${body.length} `), body);
}

// A "dsse-ed25519" attempt: the envelope holds this signature under the key's keyid, it verifies
// over PAE, and a shiplog event in it names the kind, id, actor and deployment of the event the
// ledger read from it. (The fact read from an in-toto statement is not re-derived here.)
async function verifyDsse(ctx, signed, event, publicKey) {
  let envelope;
  try {
    envelope = JSON.parse(decodeUtf8(signed.payload, 'the DSSE envelope'));
  } catch (error) {
    return `the DSSE envelope does not parse: ${error.message}`;
  }
  if (!isObject(envelope) || typeof envelope.payloadType !== 'string' ||
      !Array.isArray(envelope.signatures)) {
    return 'the DSSE envelope lacks payloadType or signatures';
  }
  const keyid = bytesToHex(await sha256(publicKey));
  if (!envelope.signatures.some((s) => holdsSignature(s, keyid, signed.signature))) {
    return `the DSSE envelope holds no such signature under keyid ${keyid}`;
  }
  let body;
  try {
    body = dsseBase64ToBytes(envelope.payload, "the DSSE envelope's payload");
  } catch (error) {
    return error.message;
  }
  if (!(await ed25519Verify(publicKey, pae(envelope.payloadType, body), signed.signature))) {
    return `the DSSE signature by key ${signed.public_key} does not verify over the envelope's PAE`;
  }
  if (envelope.payloadType !== ctx.schema.dsse_payload_types.shiplog_event || !event) return null;
  try {
    return sameEventNames(JSON.parse(decodeUtf8(body, "the envelope's event")), event);
  } catch (error) {
    return `the envelope's shiplog event does not parse: ${error.message}`;
  }
}

function holdsSignature(s, keyid, signature) {
  try {
    return isObject(s) && s.keyid === keyid &&
        equalBytes(dsseBase64ToBytes(s.sig, 'a DSSE signature'), signature);
  } catch {
    return false;
  }
}

function sameEventNames(inEnvelope, event) {
  for (const name of ['kind', 'id', 'actor', 'deployment']) {
    if ((inEnvelope?.[name] || '') !== (event[name] || '')) {
      return `the event stored with the DSSE envelope has another ${name} than the envelope's`;
    }
  }
  return null;
}

// One signed attempt: null when its signature verifies, else what is wrong.
async function verifySigned(ctx, signed, event) {
  const {capnp, dsse} = ctx.schema.schemes;
  if (signed.scheme !== capnp && signed.scheme !== dsse) {
    return `unknown signature scheme '${signed.scheme}'`;
  }
  const publicKey = hexToBytes(signed.public_key);
  if (publicKey.length !== 32) return 'the public key is not 32 bytes';
  if (signed.signature.length !== 64) return 'the signature is not 64 bytes';
  if (signed.scheme === dsse) return verifyDsse(ctx, signed, event, publicKey);
  if (signed.event_data.length > 0) return `a ${capnp} signed event carries no separate event`;
  if (!(await ed25519Verify(publicKey, signed.payload, signed.signature))) {
    return `the signature does not verify for key ${signed.public_key}`;
  }
  return null;
}

// The agent's signature on a decoded record (decodeEntry), and for a denial the denied attempt's
// too: null when they verify, else what failed. Says nothing of whether the key was enrolled.
export async function verifyEventSignature(decoded, schema = decoded.schema) {
  const ctx = schemaContext(schema);
  const own = await verifySigned(ctx, decoded, decoded.event);
  if (own) return `the record's signature: ${own}`;
  if (!decoded.denied) return null;
  const attempt = await verifySigned(ctx, decoded.denied, decoded.denied.denied_event);
  return attempt ? `the denied intent's signature: ${attempt}` : null;
}

// ---- the records of an answer ----

async function checkProof(head, record, decoded, entry) {
  const memo = head.memo;
  if (typeof record.seq !== 'number' || BigInt(record.seq) !== BigInt(decoded.seq)) {
    return `the entry is seq ${decoded.seq}, not seq ${record.seq}`;
  }
  if (BigInt(decoded.seq) >= BigInt(head.size)) {
    return `seq ${decoded.seq} is not in the checkpoint's tree of ${head.size} records`;
  }
  if (!Array.isArray(record.proof)) return 'the record has no inclusion proof';
  const proof = record.proof.map((h, i) => hexToBytes(h, `proof hash ${i}`));
  if (!(await verifyInclusion(
          decoded.seq, head.size, await leafHash(entry), proof, head.root, memo))) {
    return "the inclusion proof does not lead from the entry to the checkpoint's root " +
        `(size ${head.size})`;
  }
  return null;
}

async function verifyOne(schema, head, checkpointProblem, record) {
  let decoded = null, problem;
  try {
    const entry = base64ToBytes(record?.entry, 'the entry');
    decoded = decodeEntry(schema, entry);
    decoded.leaf_hash = bytesToHex(await leafHash(entry));
    problem = checkpointProblem ?? (await checkProof(head, record, decoded, entry)) ??
        (await verifyEventSignature(decoded, schema));
  } catch (error) {
    problem = error.message;
  }
  return {ok: problem === null, problem, decoded};
}

// fn over items with at most `limit` in flight (WebCrypto works off the page's thread), the
// answers in the items' order.
async function mapConcurrently(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker));
  return out;
}

// Verifies the records of a /v1/records answer: Map seq -> {ok, problem (null when ok), decoded
// (decodeEntry's, with leaf_hash (hex) and schema; null when the entry did not decode)}.
// `checkpoint` is the answer's checkpoint object, `pinnedKey` the ledger key the user pinned
// (hex). A checkpoint that does not check out marks every record not ok, naming why. `seqs`, when
// given, are the seqs asked for: one the answer left out is marked not ok.
export async function verifyRecords({schema, checkpoint, records, pinnedKey, seqs = []}) {
  let head = null, checkpointProblem = null;
  try {
    head = await openCheckpointObject(checkpoint, pinnedKey);
  } catch (error) {
    checkpointProblem = `checkpoint: ${error.message}`;
  }
  if (head) head.memo = new Map();
  const list = Array.isArray(records) ? records : [];
  const checked = await mapConcurrently(
      list, 16, (record) => verifyOne(schema, head, checkpointProblem, record));
  const results = new Map();
  for (const [i, result] of checked.entries()) {
    const seq = list[i]?.seq;
    if (results.has(seq)) {
      result.ok = false;
      result.problem = `the answer holds seq ${seq} twice`;
    }
    results.set(seq, result);
  }
  for (const seq of seqs) {
    if (!results.has(seq)) {
      results.set(
          seq, {ok: false, problem: `the answer holds no record for seq ${seq}`, decoded: null});
    }
  }
  return results;
}

// ---- what other answers show, against the verified record ----

// The path of the first place `want` (from the verified record) and `got` (as shown) differ, or
// null. Numbers compare by value (a BigInt against the double JSON.parse made of it).
function firstDifference(want, got, path = '') {
  const here = path || '(the value)';
  if (typeof want === 'bigint' || typeof got === 'bigint') {
    return (typeof got === 'number' || typeof got === 'bigint') && Number(want) === Number(got) ?
        null :
        here;
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return here;
    for (let i = 0; i < want.length; i++) {
      const d = firstDifference(want[i], got[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (isObject(want)) {
    if (!isObject(got)) return here;
    const keys = [...new Set([...Object.keys(want), ...Object.keys(got)])].sort(compareCodePoints);
    for (const key of keys) {
      const at = path ? `${path}.${key}` : key;
      if (!hasOwn(want, key) || !hasOwn(got, key)) return at;
      const d = firstDifference(want[key], got[key], at);
      if (d) return d;
    }
    return null;
  }
  return Object.is(want, got) || (want === 0 && got === 0) ? null : here;
}

// The decision a record carries as the timeline shows it: policy::Decision::FromJson, then
// ToJson (policy/engine.cc); null when the text is not a decision.
export function normalizeDecision(text) {
  let j;
  try {
    j = text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
  if (!isObject(j) || typeof j.allowed !== 'boolean') return null;
  const textOf = (o, k) => (typeof o[k] === 'string' ? o[k] : '');
  const seqsOf = (o, k) =>
      (Array.isArray(o[k]) ? o[k].filter((s) => Number.isInteger(s) && s >= 0) : []);
  const objects = (name) => (hasOwn(j, name) ? j[name] : []);
  const lists = [objects('reasons'), objects('evidence')];
  if (lists.some((l) => !Array.isArray(l) || l.some((item) => !isObject(item)))) return null;
  const reasons = lists[0].map((r) => {
    const considered = seqsOf(r, 'considered');
    return {
      considered,
      message: textOf(r, 'message'),
      name: textOf(r, 'name'),
      rule: textOf(r, 'rule')
    };
  });
  const evidence = lists[1].map((e) => {
    const item = {events: seqsOf(e, 'events'), name: textOf(e, 'name'), rule: textOf(e, 'rule')};
    if (isObject(e.waiver)) {
      const seq = Number.isInteger(e.waiver.seq) && e.waiver.seq >= 0 ? e.waiver.seq : 0;
      item.waiver = {by: textOf(e.waiver, 'by'), reason: textOf(e.waiver, 'reason'), seq};
    }
    return item;
  });
  return {allowed: j.allowed, evidence, policy_sha256: textOf(j, 'policy_sha256'), reasons};
}

// A number as nlohmann::json dumps it: integers plainly, doubles as the shortest digits that
// read back (Grisu2; JavaScript's shortest digits agree but in rare cases) with ".0" on whole
// numbers and an exponent outside 1e-5 < |x| < 1e15.
function dumpNumber(x, isFloat) {
  if (!isFloat || !Number.isFinite(x)) return Number.isFinite(x) ? String(x) : 'null';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exponent] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', ''), k = digits.length, n = Number(exponent) + 1;
  const sign = x < 0 ? '-' : '';
  if (k <= n && n <= 15) return `${sign}${digits}${'0'.repeat(n - k)}.0`;
  if (n > 0 && n <= 15) return `${sign}${digits.slice(0, n)}.${digits.slice(n)}`;
  if (n > -4 && n <= 0) return `${sign}0.${'0'.repeat(-n)}${digits}`;
  const e = n - 1;
  const body = k === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
  return `${sign}${body}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

// nlohmann's compact dump of a JSON value from an event (integers are integers there: the only
// double fields are metric values, which Metrics() prints itself).
function dumpJson(value) {
  if (typeof value === 'number') return dumpNumber(value, !Number.isInteger(value));
  if (typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `[${value.map(dumpJson).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort(compareCodePoints);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${dumpJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// ---- replay/timeline.cc Summarize, so the sentence the timeline shows is bound too ----

function fieldText(f, name) {
  if (!hasOwn(f, name)) return '';
  return typeof f[name] === 'string' ? f[name] : dumpJson(f[name]);
}

function joined(list, separator) {
  return Array.isArray(list) ?
      list.map((i) => (typeof i === 'string' ? i : dumpJson(i))).join(separator) :
      '';
}

function shortImage(image) {
  const marker = '@sha256:';
  const at = image.indexOf(marker);
  if (at < 0 || utf8(image.slice(at)).length <= marker.length + 12) return image;
  const keep = utf8(image.slice(0, at)).length + marker.length + 12;
  return new TextDecoder().decode(utf8(image).slice(0, keep)) + '\u2026';
}

function withImage(text, f) {
  const image = fieldText(f, 'image');
  return image === '' ? text : `${text} with image ${shortImage(image)}`;
}

function withComment(text, f, name) {
  const comment = fieldText(f, name);
  return comment === '' ? text : `${text}: ${comment}`;
}

function metricsText(f) {
  const m = f.metrics;
  if (!isObject(m) || Object.keys(m).length === 0) return '';
  const items = Object.keys(m).sort(compareCodePoints).map((k) => `${k} ${dumpNumber(m[k], true)}`);
  return ` (${items.join(', ')})`;
}

const asciiUpper = (s) => s.replace(/[a-z]/g, (c) => c.toUpperCase());

const SUMMARIES = {
  'deploy.requested': (f) => {
    const steps = joined(f.planned_steps ?? [], ' \u2192 ');
    const app = `${fieldText(f, 'app')} ${fieldText(f, 'version')}`;
    return `requested ${app} to ${fieldText(f, 'environment')} with image ` +
        `${shortImage(fieldText(f, 'image'))} (${fieldText(f, 'strategy')}, risk ` +
        `${fieldText(f, 'risk')}${steps === '' ? '' : '; steps ' + steps})`;
  },
  review: (f) => withComment(
      withImage(`review ${fieldText(f, 'subject')}: ${fieldText(f, 'verdict')}`, f), f, 'comment'),
  'step.started': (f) => withImage(`started ${fieldText(f, 'step')}`, f),
  'step.reported': (f) => {
    const details = fieldText(f, 'details'), blockers = joined(f.blockers ?? [], '; ');
    const text = `reported ${fieldText(f, 'step')} ${asciiUpper(fieldText(f, 'status'))}` +
        (details === '' ? '' : `: ${details}`);
    return blockers === '' ? text : `${text} (blockers: ${blockers})`;
  },
  'gate.result': (f) =>
      `gate ${fieldText(f, 'gate')}: ${fieldText(f, 'outcome')}${metricsText(f)}` +
      (hasOwn(f, 'predicate_type') ? ' (signed statement)' : ''),
  'backup.verified': (f) =>
      `backup ${fieldText(f, 'backup_id')} of ${fieldText(f, 'scope')} verified, ` +
      (f.restore_tested === true ? 'restore tested' : 'restore not tested'),
  'traffic.shifted': (f) => `shifted traffic to ${fieldText(f, 'weight')}%`,
  'rollback.started': (f) => rollbackText('rollback started', f),
  'rollback.completed': (f) => rollbackText('rollback completed', f),
  'waiver.granted': (f) => `waived ${fieldText(f, 'rule')}`,
  'deploy.completed': (f) => withComment('completed the deployment', f, 'summary'),
  'attestation.stored': (f) => `evidence stored: ${fieldText(f, 'predicate_type')}`,
};

function rollbackText(what, f) {
  const zone = fieldText(f, 'zone'), reason = fieldText(f, 'reason') || '(no reason given)';
  return `${what}${zone === '' ? '' : ' in ' + zone}: ${reason}`;
}

// The sentence the timeline gives an event of `kind` with these fields.
export function timelineSummary(kind, fields) {
  return SUMMARIES[kind] ? SUMMARIES[kind](fields) : kind;
}

// The timeline entry (replay/timeline.cc MakeEntry, TimelineJson) of a verified record, in the
// parts the record binds.
function boundTimelineEntry(decoded) {
  const denial = decoded.denied;
  const fields = denial?.denied_event ?? decoded.event;
  const kind = fields.kind;
  let summary = timelineSummary(kind, fields);
  if (denial) {
    summary = denial.denied_event ? `tried: ${summary}` : 'a denied intent that does not decode';
  }
  const bound = {
    seq: decoded.seq,
    time: decoded.ledger_time,
    kind,
    denied: Boolean(denial),
    fields,
    step: typeof fields.step === 'string' ? fields.step : '',
    summary,
    who: {public_key: denial ? denial.public_key : decoded.public_key},
    decision: normalizeDecision(denial ? denial.decision : decoded.decision),
    waiver: !denial && kind === 'waiver.granted' ?
        {rule: fieldText(fields, 'rule'), reason: fieldText(fields, 'reason')} :
        null,
  };
  return bound;
}

function compareOptional(name, want, got, entry) {
  if (want === null) return hasOwn(entry, name) ? name : null;
  if (!hasOwn(entry, name)) return name;
  return firstDifference(want, got, name);
}

// Null when a timeline entry (GET /v1/deployments/{id}/timeline, one of "entries") shows what the
// verified record says, else the first field that differs ("fields.reason", "decision.allowed").
// Bound: seq, time, kind, denied, fields (the event's JSON; the denied intent's for a denial),
// step, summary (recomputed as the server words it), who.public_key, decision (as the timeline
// re-reads it), and waiver.rule / waiver.reason.
// Not bound, the server's word: who.name and who.roles (the key registry as it stood, from key
// records this check does not read), waiver.holder (that name again), signature.ok/status (the
// server's check, which adds the key's authority; this module checks the signature itself),
// since_previous_seconds, soak_seconds, soaked_step and phase_held_seconds (measured across
// entries: a page can recompute them from the verified times of the records it holds).
export function compareTimelineEntry(decoded, entry) {
  if (!isObject(entry)) return '(the entry)';
  const want = boundTimelineEntry(decoded);
  for (const name of ['seq', 'time', 'kind', 'denied', 'fields', 'step', 'summary']) {
    const d = hasOwn(entry, name) ? firstDifference(want[name], entry[name], name) : name;
    if (d) return d;
  }
  if (!isObject(entry.who) || entry.who.public_key !== want.who.public_key) return 'who.public_key';
  const decision = compareOptional('decision', want.decision, entry.decision, entry);
  if (decision) return decision;
  if (want.waiver === null) return hasOwn(entry, 'waiver') ? 'waiver' : null;
  if (!isObject(entry.waiver)) return 'waiver';
  for (const name of ['rule', 'reason']) {
    if (entry.waiver[name] !== want.waiver[name]) return `waiver.${name}`;
  }
  return null;
}

// StoredRecord::ToJson (ledger/ledger.cc) of a verified record.
function queryRecordJson(decoded) {
  const out = {
    seq: decoded.seq,
    ledger_time: decoded.ledger_time,
    leaf_hash: decoded.leaf_hash,
    event: decoded.event,
    public_key: decoded.public_key,
    signature: bytesToBase64(decoded.signature)
  };
  if (decoded.manual_clock) out.manual_clock = true;
  if (decoded.missing.length > 0) out.missing = decoded.missing;
  if (decoded.decision !== '') {
    try {
      out.decision = JSON.parse(decoded.decision);
    } catch {
      out.decision = Symbol('a decision that is not JSON');  // equal to nothing shown
    }
  }
  return out;
}

// Null when a record of GET /v1/query (StoredRecord::ToJson: seq, ledger_time, leaf_hash, event,
// public_key, signature, manual_clock, missing, decision) is exactly what the verified record
// (`decoded` from verifyRecords, which adds leaf_hash) says, with no field more or less; else the
// first field that differs ("event.actor", "decision.reasons[0].message").
export function compareQueryRecord(decoded, record) {
  if (!isObject(record)) return '(the record)';
  return firstDifference(queryRecordJson(decoded), record);
}
