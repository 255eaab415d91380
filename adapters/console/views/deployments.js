// The deployments list: filters, newest first, paged, and live. The list comes from
// GET /v1/deployments; afterwards GET /v1/stream tells which deployments changed, and only then
// is the shown window asked for again (no polling). Each row's request and last event are
// verified in the browser against the pinned ledger key.

import {h, field, select, replaceChildren} from '../dom.js';
import {filterParams, formatTime, rfc3339ToInput} from '../format.js';
import {deploymentHref, deploymentsHref} from '../router.js';
import {followStream} from '../sse.js';
import {VerificationSession, compareLast, compareRequest} from '../verification.js';

const PAGE = 50;
const MAX_REFRESH = 200;  // /v1/deployments takes limit 1..200
const TEXT_FILTERS = [['app', 'App'], ['environment', 'Environment'], ['actor', 'Actor (who signed or tried)']];
const STATUSES = [['', 'Any status'], ['in progress', 'In progress'], ['completed', 'Completed'],
  ['rolled back', 'Rolled back'], ['denied', 'Denied']];

function filtersOf(params) {
  const out = {};
  for (const name of ['app', 'environment', 'status', 'actor', 'since', 'until']) {
    const value = params.get(name);
    if (value) out[name] = value;
  }
  return out;
}

function filterForm(filters) {
  const inputs = {};
  const fields = TEXT_FILTERS.map(([name, label]) => {
    inputs[name] = h('input', {type: 'text', name, value: filters[name] || '', autocomplete: 'off'});
    return field(label, inputs[name]);
  });
  inputs.status = select('status', STATUSES, filters.status || '');
  inputs.since = h('input', {type: 'datetime-local', name: 'since', value: rfc3339ToInput(filters.since)});
  inputs.until = h('input', {type: 'datetime-local', name: 'until', value: rfc3339ToInput(filters.until)});
  const form = h('form', {class: 'filters', 'aria-label': 'Filter deployments', role: 'search'},
    ...fields,
    field('Status', inputs.status),
    field('Requested since (UTC)', inputs.since),
    field('Requested until (UTC)', inputs.until),
    h('div', {class: 'actions'},
      h('button', {type: 'submit'}, 'Apply filters'),
      h('a', {href: '#/deployments', class: 'button-link secondary'}, 'Clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = deploymentsHref(filterParams(inputs));
  });
  return form;
}

function statusBadge(status) {
  const slug = String(status || '').replace(/[^a-z]+/gi, '-').toLowerCase();
  return h('span', {class: `status status-${slug}`}, status || 'unknown');
}

// What a row shows; a change of any of it redraws the row.
function rowKey(d) {
  return JSON.stringify([d.status, d.last_seq, d.last_at, d.denials, d.waivers, d.requested_seq,
    d.app, d.environment, d.version, d.image, d.requested_by]);
}

function buildRow(d) {
  const verifyCell = h('td', {class: 'verify', 'data-label': 'Verified'});
  const row = h('tr', {'data-deployment': d.deployment, 'data-seq': d.requested_seq,
    'data-last-seq': d.last_seq, 'data-status': d.status},
  h('th', {scope: 'row', 'data-label': 'Deployment'}, h('a', {href: deploymentHref(d.deployment)}, d.deployment)),
  h('td', {'data-label': 'App'}, d.app),
  h('td', {'data-label': 'Environment'}, d.environment),
  h('td', {'data-label': 'Version'}, d.version),
  h('td', {'data-label': 'Status'}, statusBadge(d.status)),
  h('td', {'data-label': 'Requested', class: 'num'}, formatTime(d.requested_at),
    h('span', {class: 'muted'}, ` by ${d.requested_by}`)),
  h('td', {'data-label': 'Last event', class: 'num'},
    h('a', {href: deploymentHref(d.deployment, d.last_seq)}, `#${d.last_seq}`), ` ${formatTime(d.last_at)}`),
  h('td', {'data-label': 'Denials', class: `num${d.denials ? ' has-denials' : ''}`}, String(d.denials ?? 0)),
  h('td', {'data-label': 'Waivers', class: `num${d.waivers ? ' has-waivers' : ''}`}, String(d.waivers ?? 0)),
  verifyCell);
  return {summary: d, row, verifyCell, key: rowKey(d)};
}

function verifyItem(entry) {
  const d = entry.summary;
  const checks = [{seq: d.requested_seq, compare: (decoded) => compareRequest(decoded, d, d.requested_at)}];
  if (d.last_seq !== d.requested_seq) checks.push({seq: d.last_seq, compare: (decoded) => compareLast(decoded, d)});
  return {row: entry.row, cell: entry.verifyCell, checks};
}

export async function render(main, route, ctx) {
  const filters = filtersOf(route.params);
  const tbody = h('tbody');
  const liveStatus = h('p', {class: 'live-status', 'data-live': 'connecting'}, 'Live updates: connecting…');
  const more = h('button', {type: 'button', class: 'secondary', hidden: true}, 'Load older deployments');
  const empty = h('p', {class: 'empty', hidden: true}, 'No deployment matches these filters.');
  const table = h('table', {class: 'list deployments'},
    h('caption', null, 'Deployments, newest request first'),
    h('thead', null, h('tr', null, ...['Deployment', 'App', 'Environment', 'Version', 'Status',
      'Requested', 'Last event', 'Denials', 'Waivers', 'Verified'].map((t) => h('th', {scope: 'col'}, t)))),
    tbody);
  replaceChildren(main,
    h('h1', {tabindex: '-1'}, 'Deployments'),
    filterForm(filters), liveStatus, h('div', {class: 'table-wrap'}, table), empty, more);

  const session = new VerificationSession({api: ctx.api, pinnedKey: ctx.pinnedKey,
    banner: ctx.banner, root: main, isCurrent: ctx.isCurrent});
  const rows = new Map();  // deployment -> {summary, row, verifyCell, key}
  let order = [];
  let nextBefore;

  // Where the live feed starts: the ledger's size before the list is read, so nothing appended
  // in between is missed (a record seen twice only refreshes a row again).
  const [checkpoint, first] = await Promise.all([
    ctx.api.json('/v1/checkpoint').catch(() => null),
    ctx.api.json('/v1/deployments', {...filters, limit: PAGE}),
  ]);
  const from = checkpoint ? checkpoint.size : undefined;
  if (!ctx.isCurrent()) return {};
  show(first.deployments || [], []);
  nextBefore = first.next_before;
  more.hidden = nextBefore === undefined;
  main.dataset.ready = 'true';
  performance.mark('shiplog:list-rendered');

  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await ctx.api.json('/v1/deployments', {...filters, before: nextBefore, limit: PAGE});
      const added = (page.deployments || []).filter((d) => !rows.has(d.deployment));
      show([...order.map((id) => rows.get(id).summary), ...added], []);
      nextBefore = page.next_before;
      more.hidden = nextBefore === undefined;
    } catch (e) {
      ctx.announce(`Could not load more: ${e.message}`);
    } finally {
      more.disabled = false;
    }
  });

  // Puts `list` on screen in that order, keeping the rows that did not change (and their
  // verification marks) and verifying the new or changed ones. `announce` lists what changed.
  function show(list, announce) {
    const fresh = [];
    const nextRows = new Map();
    for (const d of list) {
      let entry = rows.get(d.deployment);
      if (!entry || entry.key !== rowKey(d)) {
        const wasShown = Boolean(entry);
        entry = buildRow(d);
        if (wasShown) entry.row.classList.add('updated');
        fresh.push(entry);
      }
      nextRows.set(d.deployment, entry);
    }
    rows.clear();
    for (const [id, entry] of nextRows) rows.set(id, entry);
    order = list.map((d) => d.deployment);
    replaceChildren(tbody, order.map((id) => rows.get(id).row));
    empty.hidden = order.length > 0;
    if (announce.length) ctx.announce(announce.join('. '));
    session.check(fresh.map(verifyItem));
  }

  // Asks again for the rows on screen (up to MAX_REFRESH) after the stream said something
  // changed; rows older than that window stay as they are.
  let refreshTimer = null;
  let refreshing = false;  // one refresh at a time, so an older answer never lands last
  let pendingKinds = new Map();  // deployment -> the kind of its latest streamed record
  async function refresh() {
    refreshTimer = null;
    if (refreshing) {
      refreshTimer = setTimeout(refresh, 150);
      return;
    }
    refreshing = true;
    try {
      await refreshOnce();
    } finally {
      refreshing = false;
    }
  }

  async function refreshOnce() {
    const kinds = pendingKinds;
    pendingKinds = new Map();
    const limit = Math.min(MAX_REFRESH, Math.max(PAGE, order.length));
    let answer;
    try {
      answer = await ctx.api.json('/v1/deployments', {...filters, limit});
    } catch (e) {
      liveStatus.textContent = `Live updates: could not refresh (${e.message})`;
      return;
    }
    if (!ctx.isCurrent()) return;
    const list = answer.deployments || [];
    const seen = new Set(list.map((d) => d.deployment));
    const complete = answer.next_before === undefined;
    const oldest = list.length ? Math.min(...list.map((d) => d.requested_seq)) : Infinity;
    const kept = order.filter((id) => !seen.has(id) && !complete && rows.get(id).summary.requested_seq < oldest)
      .map((id) => rows.get(id).summary);
    const announce = [];
    for (const d of list) {
      const old = rows.get(d.deployment);
      if (!old) announce.push(`New deployment ${d.deployment} (${d.app} to ${d.environment})`);
      else if (old.key !== rowKey(d)) {
        const kind = kinds.get(d.deployment);
        announce.push(`${d.deployment} updated${kind ? ` by ${kind}` : ''}, now ${d.status}`);
      }
    }
    show([...list, ...kept], announce);
    if (complete) nextBefore = undefined;
    else if (order.length <= limit) nextBefore = answer.next_before;
    more.hidden = nextBefore === undefined;
  }

  function onRecord(record) {
    const id = typeof record.deployment === 'string' ? record.deployment : '';
    const onScreen = id && rows.has(id);
    const mayBeNew = record.kind === 'deploy.requested' || record.denied === true;
    if (!onScreen && !mayBeNew) return;
    pendingKinds.set(id, String(record.kind || ''));
    if (!refreshTimer) refreshTimer = setTimeout(refresh, 150);  // one refresh per burst
  }

  const stream = followStream(ctx.api, {
    from,
    onRecord,
    onState(state, detail) {
      liveStatus.dataset.live = state;
      liveStatus.textContent = {
        connecting: 'Live updates: connecting…',
        live: 'Live updates: on',
        retrying: `Live updates: interrupted, ${detail || 'retrying'}`,
        stopped: 'Live updates: off',
      }[state] || state;
    },
  });

  return {
    cleanup() {
      stream.stop();
      if (refreshTimer) clearTimeout(refreshTimer);
    },
  };
}
