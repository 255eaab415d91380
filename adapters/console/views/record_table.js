// What the auditor views share: a table of query records (GET /v1/query, one JSON object per
// record, as ledger/ledger.cc StoredRecord::ToJson writes them), each row verified in the
// browser with verify.js's compareQueryRecord.

import {h} from '../dom.js';
import {asText, formatTime} from '../format.js';
import {deploymentHref} from '../router.js';
import {compareQueryRecordSafe} from '../verification.js';

// Columns every record table starts with.
export const seqColumn = {title: 'Seq', className: 'num', header: true, cell: (r) => `#${r.seq}`};
export const timeColumn = {title: 'Ledger time', className: 'num', cell: (r) => formatTime(r.ledger_time)};
export const deploymentColumn = {
  title: 'Deployment',
  cell: (r) => (r.event?.deployment
    ? h('a', {href: deploymentHref(r.event.deployment, r.seq)}, asText(r.event.deployment))
    : ''),
};
export const actorColumn = {title: 'Signed by', cell: (r) => asText(r.event?.actor)};

// columns: [{title, cell(record) -> node|string, className?, header?}]. Returns {table, rows}.
export function recordsTable(caption, columns, records) {
  const rows = [];
  const tbody = h('tbody');
  for (const record of records) {
    const verifyCell = h('td', {class: 'verify', 'data-label': 'Verified'});
    const row = h('tr', {'data-seq': record.seq},
      ...columns.map((c) => h(c.header ? 'th' : 'td', {class: c.className || null, 'data-label': c.title,
        scope: c.header ? 'row' : null}, c.cell(record))),
      verifyCell);
    rows.push({record, row, verifyCell});
    tbody.appendChild(row);
  }
  const table = h('table', {class: 'list records'},
    h('caption', null, caption),
    h('thead', null, h('tr', null, ...columns.map((c) => h('th', {scope: 'col'}, c.title)), h('th', {scope: 'col'}, 'Verified'))),
    tbody);
  return {table: h('div', {class: 'table-wrap'}, table), rows};
}

// Verification items for rows made by recordsTable; `onVerified(rowInfo, decoded)` fills cells
// from the verified record.
export function verifyItems(rows, onVerified) {
  return rows.map((info) => ({row: info.row, cell: info.verifyCell,
    checks: [{seq: Number(info.record.seq), compare: (decoded) => compareQueryRecordSafe(decoded, info.record),
      onVerified: onVerified ? (decoded) => onVerified(info, decoded) : undefined}]}));
}

export function emptyNote(text) {
  return h('p', {class: 'empty'}, text);
}
