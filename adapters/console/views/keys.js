// Key enrolments and revocations (GET /v1/query?kind=key.enrolled and kind=key.revoked): who
// could sign what, from when, until when, and who said so.

import {h, replaceChildren} from '../dom.js';
import {asText} from '../format.js';
import {VerificationSession} from '../verification.js';
import {actorColumn, emptyNote, recordsTable, seqColumn, timeColumn, verifyItems} from './record_table.js';

export async function render(main, route, ctx) {
  replaceChildren(main, h('h1', {tabindex: '-1'}, 'Keys'), h('p', {class: 'pending'}, 'Loading…'));
  const session = new VerificationSession({api: ctx.api, pinnedKey: ctx.pinnedKey,
    banner: ctx.banner, root: main, isCurrent: ctx.isCurrent});
  const [enrolled, revoked] = await Promise.all([
    ctx.api.lines('/v1/query', {kind: 'key.enrolled'}),
    ctx.api.lines('/v1/query', {kind: 'key.revoked'}),
  ]);
  if (!ctx.isCurrent()) return {};
  const nameOf = new Map(enrolled.map((r) => [String(r.event?.public_key || ''), asText(r.event?.name)]));
  const revokedKeys = new Set(revoked.map((r) => String(r.event?.public_key || '')));
  const records = [...enrolled, ...revoked].sort((a, b) => a.seq - b.seq);
  const {table, rows} = recordsTable('Enrolments and revocations, oldest first', [
    seqColumn, timeColumn,
    {title: 'Change', cell: (r) => (r.event?.kind === 'key.revoked'
      ? h('span', {class: 'badge badge-denied'}, 'revoked') : h('span', {class: 'badge badge-allowed'}, 'enrolled'))},
    {title: 'Name', cell: (r) => asText(r.event?.name || nameOf.get(String(r.event?.public_key || '')) || '')},
    {title: 'Roles', cell: (r) => (Array.isArray(r.event?.roles) ? r.event.roles.map(asText).join(', ') : '')},
    {title: 'Public key', cell: (r) => h('code', {class: 'mono wrap'}, asText(r.event?.public_key))},
    {title: 'Reason', cell: (r) => asText(r.event?.reason || '')},
    actorColumn,
  ], records);
  for (const {record, row} of rows) {
    if (record.event?.kind === 'key.enrolled' && revokedKeys.has(String(record.event.public_key))) row.classList.add('revoked');
  }
  replaceChildren(main, h('h1', {tabindex: '-1'}, 'Keys'),
    h('p', null, `${enrolled.length} enrolment${enrolled.length === 1 ? '' : 's'}, ${revoked.length} revocation${revoked.length === 1 ? '' : 's'}.`),
    records.length ? table : emptyNote('No key was enrolled.'));
  main.dataset.ready = 'true';
  session.check(verifyItems(rows));
  return {};
}
