// The two keys the console works with, and where they are kept.
//
//   the pinned ledger key   the Ed25519 public key the user trusts to sign the ledger's
//                           checkpoints (64 hex). Typed in by the user and kept in localStorage;
//                           never taken from the server being checked, or a server that lies
//                           could vouch for itself.
//   the reader's key        a shiplog key file ({"type":"ed25519","secret","public"}), used to
//                           sign reads (RFC 9421). Kept in sessionStorage only, so it goes when
//                           the tab does, and imported into WebCrypto as non-extractable.

const PINNED_KEY = 'shiplog.console.pinnedLedgerKey';
const READER_KEY = 'shiplog.console.readerKey';

export function hexToBytes(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) {
    throw new Error('not hex');
  }
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
  return bytes;
}

export function bytesToHex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function bytesToBase64(bytes) {
  let binary = '';
  for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
  return btoa(binary);
}

function base64Url(bytes) {
  return bytesToBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function isKeyHex(text) {
  return typeof text === 'string' && /^[0-9a-f]{64}$/.test(text);
}

export function loadPinnedKey() {
  return localStorage.getItem(PINNED_KEY) || '';
}

export function savePinnedKey(hex) {
  const key = hex.trim().toLowerCase();
  if (!isKeyHex(key)) throw new Error('the ledger key is 64 hex characters (32 bytes)');
  localStorage.setItem(PINNED_KEY, key);
  return key;
}

export function forgetPinnedKey() {
  localStorage.removeItem(PINNED_KEY);
}

// Checks a key file's text and returns {secret, public} in lower-case hex.
export function parseKeyFile(text) {
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('the key file is not JSON');
  }
  if (!parsed || parsed.type !== 'ed25519') throw new Error('the key file is not an ed25519 key');
  const secret = String(parsed.secret || '').toLowerCase();
  const pub = String(parsed.public || '').toLowerCase();
  if (!isKeyHex(secret) || !isKeyHex(pub)) {
    throw new Error('the key file needs "secret" and "public", 64 hex characters each');
  }
  return {secret, public: pub};
}

// A reader's key ready to sign: the non-extractable CryptoKey, its public key and keyid.
export async function importReaderKey(keyFile) {
  const seed = hexToBytes(keyFile.secret);
  const pub = hexToBytes(keyFile.public);
  const jwk = {kty: 'OKP', crv: 'Ed25519', d: base64Url(seed), x: base64Url(pub), ext: false};
  let privateKey;
  try {
    privateKey = await crypto.subtle.importKey('jwk', jwk, {name: 'Ed25519'}, false, ['sign']);
  } catch (e) {
    throw new Error(`this browser cannot use the key (WebCrypto Ed25519): ${e.message}`);
  }
  // A key file whose halves do not belong together would sign reads the server refuses with a
  // puzzling 401; check the pair here and say so plainly.
  const publicKey = await crypto.subtle.importKey('raw', pub, {name: 'Ed25519'}, false, ['verify']);
  const probe = new TextEncoder().encode('shiplog console key check');
  const signature = await crypto.subtle.sign({name: 'Ed25519'}, privateKey, probe);
  if (!(await crypto.subtle.verify({name: 'Ed25519'}, publicKey, signature, probe))) {
    throw new Error('the key file\'s secret does not match its public key');
  }
  const keyid = bytesToHex(await crypto.subtle.digest('SHA-256', pub));
  return {privateKey, publicHex: keyFile.public, keyid};
}

export function loadReaderKeyFile() {
  const text = sessionStorage.getItem(READER_KEY);
  if (!text) return null;
  try {
    return parseKeyFile(text);
  } catch {
    sessionStorage.removeItem(READER_KEY);
    return null;
  }
}

export function saveReaderKeyFile(keyFile) {
  sessionStorage.setItem(READER_KEY, JSON.stringify({type: 'ed25519', ...keyFile}));
}

export function forgetReaderKey() {
  sessionStorage.removeItem(READER_KEY);
}
