// The deployment's entries as a table: every event with who signed it, what it did, the
// policy's decision with each rule (its id, name and sentence) and the records that satisfied
// it or were considered, waivers and denials marked in words as well as colour, and a button
// to replay the deployment at that event.

import {h} from '../dom.js';
import {asText, formatDuration, formatTime} from '../format.js';
import {sentenceFor} from '../rules.js';
import {verdictText} from './timeline_svg.js';

// "#12" as a link to its row when the record is on this page, else as text.
function seqRef(seq, present) {
  const n = Number(seq);
  return present.has(n)
    ? h('a', {href: `#seq-${n}`, class: 'seq-link', 'aria-label': `record ${n}`}, `#${n}`)
    : h('span', {class: 'seq-ref', title: 'a record outside this deployment'}, `#${n}`);
}

function seqRefs(seqs, present) {
  const list = Array.isArray(seqs) ? seqs : [];
  const out = [];
  list.forEach((seq, i) => {
    if (i) out.push(', ');
    out.push(seqRef(seq, present));
  });
  return out;
}

function ruleTitle(item, book, sha) {
  const sentence = sentenceFor(book, sha, item.rule);
  return [h('strong', {class: 'rule-id'}, `${item.rule} ${item.name || ''}`.trim()),
    sentence ? h('span', {class: 'rule-why'}, ` — ${sentence}`) : null];
}

// The decision an intent got: every failing rule's reason, or every rule that applied with its
// evidence (and the waiver that lifted it).
export function decisionBlock(decision, book, present) {
  if (!decision) return null;
  const sha = decision.policy_sha256;
  if (!decision.allowed) {
    return h('div', {class: 'decision denied'},
      h('p', {class: 'verdict'}, h('span', {class: 'badge badge-denied'}, '✕ DENIED')),
      h('ul', {class: 'reasons'}, (decision.reasons || []).map((r) => h('li', null,
        ...ruleTitle(r, book, sha),
        h('div', {class: 'reason-message'}, asText(r.message)),
        r.considered?.length ? h('div', {class: 'considered'}, 'considered: ', ...seqRefs(r.considered, present)) : null))));
  }
  return h('div', {class: 'decision allowed'},
    h('p', {class: 'verdict'}, h('span', {class: 'badge badge-allowed'}, '✓ allowed')),
    h('ul', {class: 'evidence'}, (decision.evidence || []).map((e) => h('li', {class: e.waiver ? 'waived' : null},
      ...ruleTitle(e, book, sha),
      e.events?.length ? h('div', {class: 'satisfied'}, 'satisfied by ', ...seqRefs(e.events, present)) : null,
      e.waiver ? h('div', {class: 'waiver-note'}, h('span', {class: 'badge badge-waiver'}, 'WAIVED'),
        ` by ${asText(e.waiver.by)} (`, seqRef(e.waiver.seq, present), `): ${asText(e.waiver.reason)}`) : null))));
}

function whoText(who) {
  if (!who) return '';
  const roles = Array.isArray(who.roles) && who.roles.length ? ` [${who.roles.join(', ')}]` : '';
  return `${asText(who.name)}${roles}`;
}

// The event's own fields, shown on demand: a button that adds them below itself when pressed.
// (Not <details>: a thousand of those make a long deployment's table slow to lay out.)
function fieldsToggle(entry) {
  const button = h('button', {type: 'button', class: 'link-button', 'aria-expanded': 'false'}, 'fields');
  let pre = null;
  button.addEventListener('click', () => {
    const open = button.getAttribute('aria-expanded') !== 'true';
    button.setAttribute('aria-expanded', String(open));
    if (open && !pre) {
      pre = h('pre', {class: 'fields'}, JSON.stringify(entry.fields, null, 2));
      button.after(pre);
    }
    if (pre) pre.hidden = !open;
  });
  return button;
}

function eventCell(entry) {
  const notes = [];
  if (typeof entry.soak_seconds === 'number') notes.push(` (${asText(entry.soaked_step)} soaked ${formatDuration(entry.soak_seconds)})`);
  if (typeof entry.phase_held_seconds === 'number') notes.push(` (held ${formatDuration(entry.phase_held_seconds)})`);
  return cellOf('Event', 'event',
    h('div', {class: 'kind'}, asText(entry.kind), entry.step ? h('span', {class: 'step'}, ` ${asText(entry.step)}`) : null),
    h('div', {class: 'summary'}, asText(entry.summary), ...notes),
    fieldsToggle(entry));
}

function decisionCell(entry, book, present) {
  const cell = cellOf('Decision', 'decision-cell');
  if (entry.waiver) {
    cell.appendChild(h('div', {class: 'decision waiver'},
      h('span', {class: 'badge badge-waiver'}, `WAIVER ${asText(entry.waiver.rule)}`),
      h('div', null, `lifted for this deployment by ${asText(entry.waiver.holder)}: `,
        h('q', {class: 'waiver-reason'}, asText(entry.waiver.reason)))));
  }
  const block = decisionBlock(entry.decision, book, present);
  if (block) cell.appendChild(block);
  else if (entry.denied) cell.appendChild(h('span', {class: 'badge badge-denied'}, '✕ DENIED'));
  return cell;
}

// A cell of the entries grid: role="cell" with the column's name for phone widths (data-label).
function cellOf(label, className, ...children) {
  return h('div', {role: 'cell', class: `cell ${className || ''}`.trim(), 'data-label': label}, ...children);
}

const COLUMNS = ['Seq', 'Ledger time', 'Who', 'Event', 'Decision', 'Signature (server)', 'Verified', 'Replay'];

// One row per entry. Returns {row, verifyCell}.
export function entryRow(entry, book, present, onReplay) {
  const verifyCell = cellOf('Verified', 'verify');
  const signature = entry.signature || {};
  const classes = ['entry', entry.denied && 'denied', entry.waiver && 'waiver',
    entry.decision?.evidence?.some((e) => e.waiver) && 'waived'].filter(Boolean).join(' ');
  const row = h('div', {role: 'row', id: `seq-${entry.seq}`, class: classes, 'data-seq': entry.seq,
    'data-kind': entry.kind, 'data-verdict': verdictText(entry) || null},
  h('div', {role: 'rowheader', class: 'cell num seq', 'data-label': 'Seq'}, `#${entry.seq}`),
  cellOf('Ledger time', 'num', formatTime(entry.time),
    h('div', {class: 'muted'}, `+${formatDuration(entry.since_previous_seconds || 0)}`)),
  cellOf('Who', '', whoText(entry.who)),
  eventCell(entry),
  decisionCell(entry, book, present),
  cellOf('Signature (server)', signature.ok === false ? 'signature sig-bad' : 'signature',
    signature.ok === false ? `INVALID: ${asText(signature.status)}` : 'valid'),
  verifyCell,
  cellOf('Replay', 'replay', h('button', {type: 'button', class: 'small', 'data-replay': entry.seq,
    'aria-label': `Replay the deployment at record ${entry.seq}`, onclick: () => onReplay(entry.seq)}, 'Replay')));
  return {row, verifyCell};
}

// The entries as an ARIA table of rows that are each their own grid, not a <table>: a row that is
// off screen then costs no layout (content-visibility: auto), so a deployment of thousands of
// records opens as fast as one of ten. Screen readers read it as the table it is.
export function entriesTable(entries, book, onReplay) {
  const present = new Set(entries.map((e) => Number(e.seq)));
  const body = h('div', {role: 'rowgroup', class: 'entries-body'});
  const rows = [];
  const fragment = document.createDocumentFragment();
  for (const entry of entries) {
    const built = entryRow(entry, book, present, onReplay);
    rows.push({entry, ...built});
    fragment.appendChild(built.row);
  }
  body.appendChild(fragment);
  const table = h('div', {role: 'table', class: 'entries-table', 'aria-labelledby': 'entries-caption',
    'aria-rowcount': entries.length + 1},
  h('p', {id: 'entries-caption', class: 'caption'}, 'Every record of the deployment, in ledger order'),
  h('div', {role: 'rowgroup', class: 'entries-head'},
    h('div', {role: 'row', class: 'entry head'}, ...COLUMNS.map((t) => h('div', {role: 'columnheader', class: 'cell'}, t)))),
  body);
  return {table, rows};
}
