// Each rule's sentence (its `why:` in the policy file), so a decision reads as "R10
// staging-soak: production needs staging READY for 15 minutes ..." and not only an id. Decisions
// carry the rule ids and names and the policy's SHA-256; the policy text itself is in the
// ledger (the genesis record and every policy.activated), so the sentences come from signed
// records, which the page verifies like any other it uses.

import {compareQueryRecordSafe} from './verification.js';

// {ruleId: sentence} from a policy file's text: each `- id: X` and the first `why:` after it.
// A small line reader rather than a YAML parser: only these two keys are needed, and text that
// does not look like them is ignored.
export function sentencesOf(policyText) {
  const out = {};
  let current = null;
  for (const line of String(policyText || '').split('\n')) {
    const id = /^\s*-\s*id:\s*["']?([^"'#\s]+)["']?\s*(#.*)?$/.exec(line);
    if (id) {
      current = id[1];
      continue;
    }
    const why = /^\s*why:\s*(.*?)\s*$/.exec(line);
    if (why && current && !(current in out)) {
      out[current] = why[1].replace(/^(["'])(.*)\1$/, '$2');
    }
  }
  return out;
}

// Loads the policies the ledger recorded: Map sha256 -> {name, sentences, seq}. Each record used
// is verified through `session` (no row: a failure goes to the page's banner).
export async function loadRuleBook(api, session) {
  const book = new Map();
  const [genesis, activated] = await Promise.all([
    api.lines('/v1/query', {to_seq: 0}),
    api.lines('/v1/query', {kind: 'policy.activated'}),
  ]);
  const records = [...genesis.filter((r) => r.seq === 0), ...activated];
  for (const record of records) {
    const event = record.event || {};
    const text = event.kind === 'policy.activated' ? event.content : event.policy;
    const sha = String(event.kind === 'policy.activated' ? event.sha256 : event.policy_sha256 || '');
    if (typeof text === 'string' && sha) {
      book.set(sha.toLowerCase(), {name: event.name || '', sentences: sentencesOf(text), seq: record.seq});
    }
  }
  session.check(records.map((record) => ({
    row: null, cell: null,
    checks: [{seq: record.seq, compare: (decoded) => compareQueryRecordSafe(decoded, record)}],
  })));
  return book;
}

// The sentence for `rule` under the policy `sha256`, else under any recorded policy.
export function sentenceFor(book, sha256, rule) {
  if (!book) return '';
  const policy = book.get(String(sha256 || '').toLowerCase());
  if (policy && policy.sentences[rule]) return policy.sentences[rule];
  for (const other of book.values()) if (other.sentences[rule]) return other.sentences[rule];
  return '';
}
