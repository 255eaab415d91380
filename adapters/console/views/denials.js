// Every denied attempt, grouped by the rule that denied it (GET /v1/query?decision=denied): an
// attempt that failed two rules is listed under both. Each rule shows its sentence from the
// policy, so an auditor reads what was required, not only an id.

import {h, replaceChildren} from '../dom.js';
import {asText} from '../format.js';
import {loadRuleBook, sentenceFor} from '../rules.js';
import {VerificationSession} from '../verification.js';
import {deploymentColumn, emptyNote, recordsTable, seqColumn, timeColumn, verifyItems} from './record_table.js';

function byRule(records) {
  const groups = new Map();
  for (const record of records) {
    for (const reason of record.decision?.reasons || []) {
      const rule = asText(reason.rule) || '?';
      if (!groups.has(rule)) groups.set(rule, {name: asText(reason.name), sha: record.decision.policy_sha256, items: []});
      groups.get(rule).items.push({record, reason});
    }
  }
  // R1, R2, ... R10 in number order; other ids after, by name.
  const key = (rule) => [/^R(\d+)$/.test(rule) ? Number(rule.slice(1)) : Infinity, rule];
  return [...groups].sort(([a], [b]) => {
    const [x, y] = [key(a), key(b)];
    return x[0] - y[0] || x[1].localeCompare(y[1]);
  });
}

export async function render(main, route, ctx) {
  replaceChildren(main, h('h1', {tabindex: '-1'}, 'Denials by rule'), h('p', {class: 'pending'}, 'Loading…'));
  const session = new VerificationSession({api: ctx.api, pinnedKey: ctx.pinnedKey,
    banner: ctx.banner, root: main, isCurrent: ctx.isCurrent});
  const [records, book] = await Promise.all([
    ctx.api.lines('/v1/query', {decision: 'denied'}),
    loadRuleBook(ctx.api, session).catch(() => null),
  ]);
  if (!ctx.isCurrent()) return {};
  const groups = byRule(records);
  const sections = [];
  const rows = [];
  for (const [rule, group] of groups) {
    const sentence = sentenceFor(book, group.sha, rule);
    // Each row is a record and the one reason of this rule; the record is what is verified.
    const reasonOf = new Map(group.items.map(({record, reason}) => [record, reason]));
    const {table, rows: groupRows} = recordsTable(`Attempts denied by ${rule}`, [
      seqColumn, timeColumn, deploymentColumn,
      // What was tried is inside the denial's signed bytes: shown once the record verifies.
      {title: 'Attempt', cell: () => h('span', {class: 'attempt pending'}, '…')},
      {title: 'Why', cell: (r) => asText(reasonOf.get(r).message)},
    ], group.items.map((item) => item.record));
    rows.push(...groupRows);
    sections.push(h('section', {class: 'rule-group', 'data-rule': rule, 'aria-labelledby': `rule-${rule}`},
      h('h2', {id: `rule-${rule}`}, `${rule} ${group.name} `, h('span', {class: 'count'}, `(${group.items.length})`)),
      sentence ? h('p', {class: 'rule-why'}, sentence) : null,
      table));
  }
  replaceChildren(main, h('h1', {tabindex: '-1'}, 'Denials by rule'),
    h('p', null, `${records.length} denied attempt${records.length === 1 ? '' : 's'}, by the rules that refused them.`),
    groups.length ? sections : emptyNote('The policy never denied an attempt.'));
  main.dataset.ready = 'true';
  session.check(verifyItems(rows, ({row}, decoded) => {
    const attempt = decoded?.denied?.denied_event;
    const cell = row.querySelector('.attempt');
    if (!cell || !attempt) return;
    cell.classList.remove('pending');
    cell.textContent = `${asText(attempt.actor)}: ${asText(attempt.kind)}${attempt.step ? ` ${asText(attempt.step)}` : ''}` +
      `${attempt.weight !== undefined ? ` to ${attempt.weight}%` : ''}`;
  }));
  return {};
}
