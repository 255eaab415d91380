// Every waiver (break-glass, R17): who lifted which rule for which deployment and why, and the
// decisions that relied on one (GET /v1/query?waivers=true).

import {h, replaceChildren} from '../dom.js';
import {asText} from '../format.js';
import {VerificationSession} from '../verification.js';
import {actorColumn, deploymentColumn, emptyNote, recordsTable, seqColumn, timeColumn, verifyItems} from './record_table.js';

function waivedEvidence(record) {
  return (record.decision?.evidence || []).filter((e) => e.waiver);
}

export async function render(main, route, ctx) {
  replaceChildren(main, h('h1', {tabindex: '-1'}, 'Waivers'), h('p', {class: 'pending'}, 'Loading…'));
  const session = new VerificationSession({api: ctx.api, pinnedKey: ctx.pinnedKey,
    banner: ctx.banner, root: main, isCurrent: ctx.isCurrent});
  const records = await ctx.api.lines('/v1/query', {waivers: 'true'});
  if (!ctx.isCurrent()) return {};
  const granted = records.filter((r) => r.event?.kind === 'waiver.granted');
  const relied = records.filter((r) => r.event?.kind !== 'waiver.granted' && waivedEvidence(r).length);

  const grantedTable = recordsTable('Waivers granted, oldest first', [
    seqColumn, timeColumn, deploymentColumn,
    {title: 'Rule', cell: (r) => h('strong', null, asText(r.event.rule))},
    {title: 'Reason', cell: (r) => h('q', {class: 'waiver-reason'}, asText(r.event.reason))},
    {title: 'Holder', cell: (r) => asText(r.event.actor)},
  ], granted);
  const reliedTable = recordsTable('Decisions allowed because a rule was waived', [
    seqColumn, timeColumn, deploymentColumn,
    {title: 'Intent', cell: (r) => `${asText(r.event.kind)}${r.event.step ? ` ${asText(r.event.step)}` : ''}`},
    {title: 'Waived rules', cell: (r) => h('ul', {class: 'plain'}, waivedEvidence(r).map((e) =>
      h('li', null, h('strong', null, `${asText(e.rule)} ${asText(e.name)}`), ` by ${asText(e.waiver.by)} (#${e.waiver.seq}): `,
        h('q', {class: 'waiver-reason'}, asText(e.waiver.reason)))))},
    actorColumn,
  ], relied);

  replaceChildren(main, h('h1', {tabindex: '-1'}, 'Waivers'),
    h('p', null, `${granted.length} waiver${granted.length === 1 ? '' : 's'} granted; ${relied.length} decision${relied.length === 1 ? '' : 's'} relied on one.`),
    h('h2', null, 'Granted'), granted.length ? grantedTable.table : emptyNote('No waiver was ever granted.'),
    h('h2', null, 'Relied on'), relied.length ? reliedTable.table : emptyNote('No decision relied on a waiver.'));
  main.dataset.ready = 'true';
  session.check(verifyItems([...grantedTable.rows, ...reliedTable.rows]));
  return {};
}
