// Where an image digest went: every record naming it (GET /v1/query?image=), and from them the
// environments and steps (zones) it reached, when first and last.

import {h, field, replaceChildren} from '../dom.js';
import {asText, formatTime} from '../format.js';
import {hrefWithParams} from '../router.js';
import {VerificationSession} from '../verification.js';
import {actorColumn, deploymentColumn, emptyNote, recordsTable, seqColumn, timeColumn, verifyItems} from './record_table.js';

function searchForm(image) {
  const input = h('input', {type: 'text', name: 'image', value: image, class: 'mono wide', autocomplete: 'off',
    spellcheck: 'false', placeholder: 'registry.example/app@sha256:… or sha256:…'});
  const form = h('form', {class: 'filters', role: 'search', 'aria-label': 'Find an image'},
    field('Image reference or digest', input),
    h('div', {class: 'actions'}, h('button', {type: 'submit'}, 'Find')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = hrefWithParams('#/audit/images', {image: input.value.trim()});
  });
  return form;
}

// The environment of each deployment, from the requests among the records.
function environments(records) {
  const out = new Map();
  for (const r of records) {
    if (r.event?.kind === 'deploy.requested' && r.event.deployment) out.set(r.event.deployment, asText(r.event.environment));
  }
  return out;
}

// {where -> {first, last, deployments}} for started steps and requests: where the image went.
function reach(records, envOf) {
  const places = new Map();
  for (const r of records) {
    const e = r.event || {};
    if (e.kind === 'policy.denied' || r.decision?.allowed === false) continue;
    let where = null;
    if (e.kind === 'step.started' || e.kind === 'step.reported') where = `step ${asText(e.step)}`;
    else if (e.kind === 'deploy.requested') where = `requested for ${asText(e.environment)}`;
    if (!where) continue;
    const env = envOf.get(e.deployment);
    const key = env && !where.startsWith('requested') ? `${where} (${env})` : where;
    const place = places.get(key) || {first: r, last: r, deployments: new Set()};
    place.last = r;
    place.deployments.add(asText(e.deployment));
    places.set(key, place);
  }
  return places;
}

export async function render(main, route, ctx) {
  const image = route.params.get('image') || '';
  replaceChildren(main, h('h1', {tabindex: '-1'}, 'Where an image went'), searchForm(image));
  main.dataset.ready = image ? 'loading' : 'true';
  if (!image) return {};
  const session = new VerificationSession({api: ctx.api, pinnedKey: ctx.pinnedKey,
    banner: ctx.banner, root: main, isCurrent: ctx.isCurrent});
  const records = await ctx.api.lines('/v1/query', {image});
  if (!ctx.isCurrent()) return {};
  const envOf = environments(records);
  const places = reach(records, envOf);
  const {table, rows} = recordsTable(`Records naming ${image}`, [
    seqColumn, timeColumn, deploymentColumn,
    {title: 'Environment', cell: (r) => envOf.get(r.event?.deployment) || asText(r.event?.environment)},
    {title: 'What', cell: (r) => `${asText(r.event?.kind)}${r.event?.step ? ` ${asText(r.event.step)}` : ''}${r.event?.gate ? ` ${asText(r.event.gate)}` : ''}`},
    {title: 'Outcome', cell: (r) => (r.decision ? (r.decision.allowed ? 'allowed' : 'DENIED') : asText(r.event?.outcome || r.event?.status || ''))},
    actorColumn,
  ], records);
  main.append(
    h('h2', null, 'Reached'),
    places.size ? h('ul', {class: 'reach'}, [...places].map(([where, p]) => h('li', null,
      h('strong', null, where), `: first ${formatTime(p.first.ledger_time)} (#${p.first.seq}), last ${formatTime(p.last.ledger_time)} (#${p.last.seq}); deployments ${[...p.deployments].join(', ')}`)))
      : emptyNote('No allowed request or step names this image.'),
    h('h2', null, 'Records'),
    records.length ? table : emptyNote('No record names this image.'));
  main.dataset.ready = 'true';
  session.check(verifyItems(rows));
  return {};
}
