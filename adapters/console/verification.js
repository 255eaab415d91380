// Checks every record a page shows, in this browser, trusting nothing the server says about it:
// the records come from GET /v1/records (leaf input + inclusion proof, all against one signed
// checkpoint), verify.js checks the proofs, the checkpoint's Ed25519 signature against the
// ledger key the user pinned, and decodes each leaf; then what the page shows of a record is
// compared with the decoded record. Each row gets data-verified="true|false" and a visible
// "✓ verified" or "✗ NOT verified: why" (text, not colour alone); anything that failed also goes
// to the page's banner.

import {Api} from './api.js';
import {h, replaceChildren} from './dom.js';

const BATCH = 1000;  // GET /v1/records takes at most 1000 seqs per request

let verifierModule = null;
let schemaPromise = null;
let verifier = null;  // verify.js once loaded: its compare functions run after verifyRecords

// verify.js and the schema load once, on first use; a failure to load is reported on every
// row rather than breaking the page.
async function loadVerifier() {
  if (!verifierModule) verifierModule = import('./verify.js');
  if (!schemaPromise) schemaPromise = Api.publicJson('/ui/schema.json');
  const [module, schema] = await Promise.all([verifierModule, schemaPromise]);
  verifier = module;
  return {module, schema};
}

// Shows the result on a row: the marker text and data-verified.
export function markRow(row, cell, problem) {
  const ok = problem === null;
  if (row) {
    row.dataset.verified = ok ? 'true' : 'false';
    row.classList.toggle('not-verified', !ok);
  }
  if (cell) {
    replaceChildren(cell, ok
      ? h('span', {class: 'verified', title: 'inclusion proof and signed checkpoint check out against the pinned ledger key, and what is shown matches the record'}, '✓ verified')
      : h('span', {class: 'unverified'}, '✗ NOT verified: ', h('span', {class: 'problem'}, problem)));
  }
}

function markPending(row, cell) {
  if (row) row.dataset.verified = 'pending';
  if (cell) replaceChildren(cell, h('span', {class: 'pending'}, '… verifying'));
}

// One page's verification. `banner` is the page-level alert element. Rows are checked in
// batches as they are added; `isCurrent()` false (the user navigated away) drops the results.
export class VerificationSession {
  constructor({api, pinnedKey, banner, root, isCurrent}) {
    this.api = api;
    this.pinnedKey = pinnedKey;
    this.banner = banner;
    this.root = root;
    this.isCurrent = isCurrent || (() => true);
    this.problems = new Map();  // seq -> problem, for the banner
    this.running = 0;
    this.lastCheckpoint = null;
  }

  // items: [{row, cell, checks: [{seq, compare(decoded) -> problem|null, onVerified?(decoded)}]}].
  // Resolves when done.
  async check(items) {
    if (!items.length) return;
    for (const item of items) markPending(item.row, item.cell);
    this.setBusy(+1);
    try {
      const seqs = [...new Set(items.flatMap((item) => item.checks.map((c) => c.seq)))];
      const results = await this.verifySeqs(seqs);
      if (!this.isCurrent()) return;
      for (const item of items) this.markItem(item, results);
      this.renderBanner();
    } finally {
      this.setBusy(-1);
    }
  }

  markItem(item, results) {
    const problems = [];
    for (const {seq, compare, onVerified} of item.checks) {
      const result = results.get(seq);
      let problem;
      if (!result) problem = `record #${seq} was not returned by the server`;
      else if (!result.ok) problem = result.problem || `record #${seq} does not verify`;
      else problem = compare ? safeCompare(compare, result.decoded) : null;
      // Some cells show what only the verified record holds (a denied attempt's own event).
      if (!problem && onVerified) onVerified(result.decoded);
      if (problem) {
        const text = item.checks.length > 1 ? `#${seq}: ${problem}` : problem;
        problems.push(text);
        this.problems.set(seq, problem);
      }
    }
    markRow(item.row, item.cell, problems.length ? problems.join('; ') : null);
  }

  // Map seq -> {ok, problem, decoded} for every seq, in batches of BATCH.
  async verifySeqs(seqs) {
    const results = new Map();
    let loaded;
    try {
      loaded = await loadVerifier();
    } catch (e) {
      for (const seq of seqs) results.set(seq, {ok: false, problem: `the verifier could not load: ${e.message}`});
      return results;
    }
    const sorted = [...seqs].sort((a, b) => a - b);
    for (let i = 0; i < sorted.length; i += BATCH) {
      const batch = sorted.slice(i, i + BATCH);
      await this.verifyBatch(loaded, batch, results);
    }
    return results;
  }

  async verifyBatch({module, schema}, batch, results) {
    try {
      const answer = await this.api.json('/v1/records', {seqs: batch.join(',')});
      this.lastCheckpoint = answer.checkpoint;
      const verified = await module.verifyRecords({
        schema, checkpoint: answer.checkpoint, records: answer.records, pinnedKey: this.pinnedKey,
        seqs: batch,
      });
      for (const [seq, result] of verified) results.set(Number(seq), result);
    } catch (e) {
      for (const seq of batch) results.set(seq, {ok: false, problem: `could not be checked: ${e.message}`});
    }
  }

  setBusy(delta) {
    this.running += delta;
    // Tests and the page's status line read this: "pending" while any check runs.
    if (this.root) this.root.dataset.verification = this.running > 0 ? 'pending' : 'done';
  }

  renderBanner() {
    if (!this.banner) return;
    if (!this.problems.size) return;
    // A link where the record has a row of its own on the page (#seq-N), plain text elsewhere.
    const ref = (seq) => (document.getElementById(`seq-${seq}`)
      ? h('a', {href: `#seq-${seq}`, class: 'seq-link'}, `#${seq}`) : `#${seq}`);
    const list = h('ul', null, [...this.problems].slice(0, 8).map(([seq, problem]) =>
      h('li', null, ref(seq), `: ${problem}`)));
    const more = this.problems.size > 8 ? h('p', null, `… and ${this.problems.size - 8} more.`) : null;
    replaceChildren(this.banner,
      h('strong', null, 'This response was altered or does not verify: '),
      `${this.problems.size} record${this.problems.size === 1 ? '' : 's'} failed the in-browser check against the pinned ledger key. Do not rely on what this page shows.`,
      list, more);
    this.banner.hidden = false;
  }
}

function safeCompare(compare, decoded) {
  try {
    return compare(decoded) || null;
  } catch (e) {
    return `could not compare: ${e.message}`;
  }
}

// The comparisons that verify.js does not provide itself, for rows that show a summary of a
// record (a deployment in the list): each field shown must be the record's.
// The event a record is about: its own, or for a policy.denied the denied attempt inside it
// (verify.js decodeEntry: decoded.denied.denied_event, null when it did not decode).
export function intentOf(decoded) {
  if (!decoded) return null;
  if (decoded.denied) return decoded.denied.denied_event || null;
  return decoded.event || null;
}

function mismatch(name, shown, actual) {
  return `the page shows ${name} "${shown}" but the signed record says "${actual ?? ''}"`;
}

// A list row's request: the record at requested_seq must be that deployment's request with the
// app, environment, version, image and requester shown.
export function compareRequest(decoded, summary, time) {
  const event = intentOf(decoded);
  if (!event) return 'the record could not be decoded';
  const pairs = [
    ['deployment', summary.deployment, event.deployment],
    ['app', summary.app, event.app],
    ['environment', summary.environment, event.environment],
    ['version', summary.version, event.version],
    ['image', summary.image, event.image],
  ];
  for (const [name, shown, actual] of pairs) {
    if ((shown ?? '') !== (actual ?? '')) return mismatch(name, shown, actual);
  }
  if (event.kind !== 'deploy.requested') return mismatch('request kind', 'deploy.requested', event.kind);
  if (time && decoded.ledger_time && sameTime(decoded.ledger_time, time) === false) {
    return mismatch('request time', time, decoded.ledger_time);
  }
  return null;
}

// A list row's last event: the record at last_seq must belong to that deployment, at that time.
export function compareLast(decoded, summary) {
  const event = intentOf(decoded);
  if (!event) return 'the record could not be decoded';
  if ((event.deployment ?? '') !== summary.deployment) {
    return mismatch('deployment of the last event', summary.deployment, event.deployment);
  }
  if (decoded.ledger_time && sameTime(decoded.ledger_time, summary.last_at) === false) {
    return mismatch('last event time', summary.last_at, decoded.ledger_time);
  }
  return null;
}

// Two RFC 3339 times (or a time and microseconds) are the same instant; null when unknowable.
function sameTime(a, b) {
  const ms = (t) => (typeof t === 'number' ? t / 1000 : Date.parse(t));
  const x = ms(a), y = ms(b);
  if (!Number.isFinite(x) || !Number.isFinite(y)) return null;
  return Math.abs(x - y) < 1;
}

// verify.js's comparisons of what a page shows with the decoded record: a timeline entry
// (GET /v1/deployments/{id}/timeline) and a query record (GET /v1/query). Called only from a
// check's compare, after verify.js loaded.
export function compareTimelineEntrySafe(decoded, entry) {
  return verifier ? inWords(verifier.compareTimelineEntry(decoded, entry)) : 'the verifier is not loaded';
}

export function compareQueryRecordSafe(decoded, record) {
  return verifier ? inWords(verifier.compareQueryRecord(decoded, record)) : 'the verifier is not loaded';
}

// verify.js names the first field that differs ("decision.reasons[0].message"); a reader needs
// to know what that means.
function inWords(problem) {
  if (!problem) return null;
  return /^[\w.[\]]+$/.test(problem)
    ? `what the server sent differs from the signed record at ${problem}` : problem;
}
