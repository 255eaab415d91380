// The server's JSON API, read with signed requests (RFC 9421, docs: /work/notes/console-api.md
// and adapters/http_signature.h). A browser may not set Date, so the signature covers
// ("@method" "@path" "@query") with created (now), keyid (hex SHA-256 of the public key),
// alg="ed25519" and a fresh nonce; the server bounds the age by `created` and refuses a nonce
// it has seen, so every request is signed anew.

import {bytesToBase64} from './keys.js';

// An answer the server refused or could not give, with its HTTP status and message.
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// encodeURIComponent leaves !'()* alone, but a browser percent-encodes ' in a query before
// sending it; the signature covers the query as sent, so encode them all here ourselves.
export function encodeComponent(value) {
  return encodeURIComponent(String(value))
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

// "?a=1&b=x%20y" from an object or [name, value] pairs; empty values are left out. "" when none.
export function queryString(params) {
  const pairs = params instanceof URLSearchParams || Array.isArray(params)
    ? Array.from(params)
    : Object.entries(params || {});
  const kept = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '');
  return kept.length ? `?${kept.map(([k, v]) => `${encodeComponent(k)}=${encodeComponent(v)}`).join('&')}` : '';
}

function randomNonce() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function errorFrom(response) {
  let code = `http_${response.status}`;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = String(body.error.code || code);
      message = String(body.error.message || message);
    }
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(response.status, code, message);
}

export class Api {
  // `reader`: {privateKey, keyid} from keys.importReaderKey, or null for unsigned reads only.
  constructor(reader) {
    this.reader = reader;
  }

  // The headers that sign GET `path` + `query` now.
  async signatureHeaders(method, path, query) {
    const params = `("@method" "@path" "@query");created=${Math.floor(Date.now() / 1000)}` +
      `;keyid="${this.reader.keyid}";alg="ed25519";nonce="${randomNonce()}"`;
    const base = `"@method": ${method}\n"@path": ${path}\n"@query": ${query || '?'}\n` +
      `"@signature-params": ${params}`;
    const signature = await crypto.subtle.sign(
      {name: 'Ed25519'}, this.reader.privateKey, new TextEncoder().encode(base));
    return {'Signature-Input': `sig1=${params}`, 'Signature': `sig1=:${bytesToBase64(signature)}:`};
  }

  // A signed GET of `path` (already percent-encoded) with `params`; the Response when 2xx.
  async get(path, params, init = {}) {
    const query = queryString(params);
    const headers = {Accept: init.accept || 'application/json'};
    if (this.reader) Object.assign(headers, await this.signatureHeaders('GET', path, query));
    const response = await fetch(path + query, {
      method: 'GET', headers, cache: 'no-store', credentials: 'omit', signal: init.signal,
    });
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  async json(path, params, init) {
    return (await this.get(path, params, init)).json();
  }

  // A JSON-lines answer (/v1/query) as an array; a trailing {"error": ...} line, which the
  // server writes when it fails after the headers went out, becomes an ApiError.
  async lines(path, params, init) {
    const text = await (await this.get(path, params, {accept: 'application/x-ndjson', ...init})).text();
    const out = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const value = JSON.parse(line);
      if (value && value.error && value.seq === undefined) {
        throw new ApiError(500, String(value.error.code), String(value.error.message));
      }
      out.push(value);
    }
    return out;
  }

  // Unsigned GETs of the public routes (the checkpoint, the console's own files).
  static async publicJson(path) {
    const response = await fetch(path, {cache: 'no-store', credentials: 'omit'});
    if (!response.ok) throw await errorFrom(response);
    return response.json();
  }
}

// /v1/deployments/{id}...: the id goes into the path percent-encoded, as it is signed.
export function deploymentPath(id, suffix = '') {
  return `/v1/deployments/${encodeComponent(id)}${suffix}`;
}
