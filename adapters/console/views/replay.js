// "Replay at this point": the deployment's state just after a record, and the decision the
// policy in force then would have given each possible next step (GET /v1/deployments/{id}?at=SEQ,
// replay/replay.h). Shown beside the timeline; it answers "what was known, and what would have
// been allowed, at that moment".

import {deploymentPath} from '../api.js';
import {h, definitionList, replaceChildren} from '../dom.js';
import {asText, formatTime} from '../format.js';
import {decisionBlock} from './entries.js';

function stepsTable(steps, present) {
  const ref = (seq) => (seq === undefined || seq === null ? '' :
    present.has(Number(seq)) ? h('a', {href: `#seq-${seq}`, class: 'seq-link'}, `#${seq}`) : `#${seq}`);
  return h('table', {class: 'list compact'},
    h('caption', null, 'Steps at this point'),
    h('thead', null, h('tr', null, ...['Step', 'Status', 'Started', 'Reported', 'READY since'].map((t) => h('th', {scope: 'col'}, t)))),
    h('tbody', null, (steps || []).map((s) => h('tr', {class: `step-status-${String(s.status).replace(/[^a-z]+/gi, '-').toLowerCase()}`},
      h('th', {scope: 'row', 'data-label': 'Step'}, asText(s.step)),
      h('td', {'data-label': 'Status'}, asText(s.status)),
      h('td', {'data-label': 'Started'}, ref(s.started_seq)), h('td', {'data-label': 'Reported'}, ref(s.report_seq)),
      h('td', {class: 'num', 'data-label': 'READY since'}, s.ready_since ? formatTime(s.ready_since) : '')))));
}

function nextList(next, book, present) {
  if (!next || !next.length) return h('p', null, 'No further step can be asked for at this point.');
  return h('ul', {class: 'next-intents'}, next.map((n) => {
    const what = `${asText(n.kind)}${n.step ? ` ${asText(n.step)}` : ''}${n.weight !== undefined ? ` to ${n.weight}%` : ''}`;
    return h('li', {class: n.decision?.allowed ? 'would-allow' : 'would-deny'},
      h('h4', null, what, ': ', n.decision?.allowed ? 'would be allowed' : 'would be DENIED'),
      decisionBlock(n.decision, book, present));
  }));
}

function environmentFacts(environment) {
  const env = environment || {};
  const incidents = (env.open_incidents || []).map((i) => `${asText(i.incident)} (#${i.seq})`).join(', ');
  const windows = (env.maintenance_windows || []).map((w) =>
    `${formatTime(w.from)} – ${formatTime(w.to)}${w.open ? ' (open)' : ''}`).join('; ');
  return [['Environment', asText(env.name)], ['Open incidents', incidents || 'none'],
    ['Maintenance windows', windows || 'none']];
}

// Loads and shows the replay at `seq` in `panel`. `present`: the seqs on the page (for links).
export async function showReplay(panel, {api, id, seq, book, present, focus}) {
  // The heading stays in place while the body below it changes: moving a focused element out of
  // the page would drop the keyboard user's focus.
  let heading = panel.querySelector('#replay-title');
  let body = panel.querySelector('.replay-body');
  if (!heading || !body) {
    heading = h('h2', {tabindex: '-1', id: 'replay-title'});
    body = h('div', {class: 'replay-body'});
    replaceChildren(panel, heading, body);
  }
  heading.textContent = `Replay at #${seq}`;
  replaceChildren(body, h('p', {class: 'pending'}, 'Replaying…'));
  panel.hidden = false;
  panel.dataset.seq = seq;
  panel.dataset.state = 'loading';
  if (focus) heading.focus();
  let point;
  try {
    point = await api.json(deploymentPath(id), {at: seq});
  } catch (e) {
    replaceChildren(body, h('p', {class: 'error'}, `Could not replay: ${e.message}`));
    panel.dataset.state = 'error';
    return;
  }
  if (panel.dataset.seq !== String(seq)) return;  // another point was chosen meanwhile
  const waivers = (point.waivers || []).map((w) => `${asText(w.rule)} by ${asText(w.by)} (#${w.seq}): ${asText(w.reason)}`);
  replaceChildren(body,
    h('p', {class: 'muted'}, `Just after record #${point.seq}, ledger time ${formatTime(point.time)}. ` +
      'The state and decisions are the server’s replay under the policy in force then; the records it folds are the ones verified below.'),
    definitionList([
      ['Status', asText(point.status)],
      ['App', asText(point.app)],
      ['Policy', point.policy ? `${asText(point.policy.name)} (sha256 ${String(point.policy.sha256 || '').slice(0, 12)}…)` : 'none in force'],
      ['Halted at', point.halted_step ? asText(point.halted_step) : 'not halted'],
      ['Canary weight', point.canary ? `${point.canary.weight}%` : ''],
      ...environmentFacts(point.environment),
      ['Waivers in force', waivers.length ? waivers.join('; ') : 'none'],
    ]),
    point.steps ? stepsTable(point.steps, present) : null,
    h('h3', null, 'What the policy would decide next'),
    nextList(point.next, book, present));
  panel.dataset.state = 'done';
}
