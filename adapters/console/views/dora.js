// DORA metrics from the signed records (GET /v1/dora, replay/dora.h): deployment frequency,
// lead time (request to completed), change failure rate (completed deployments followed by a
// rollback or an incident within the window) and time to restore (incident opened to
// resolved), for the filters given, with a chart per metric and the same numbers as tables.

import {h, field, select, replaceChildren} from '../dom.js';
import {asText, formatDuration, formatNumber, formatPercent, filterParams, rfc3339ToInput, timeMs} from '../format.js';
import {hrefWithParams} from '../router.js';
import {barChart, figure, shareBar} from './charts.js';

const WINDOWS = [['', 'Window: 24h (default)'], ['1h', '1 hour'], ['24h', '24 hours'], ['72h', '3 days'], ['168h', '7 days']];
const DAY_MS = 86400e3;

function filterForm(params) {
  const inputs = {
    app: h('input', {type: 'text', name: 'app', value: params.app || '', autocomplete: 'off'}),
    environment: h('input', {type: 'text', name: 'environment', value: params.environment || '', autocomplete: 'off'}),
    since: h('input', {type: 'datetime-local', name: 'since', value: rfc3339ToInput(params.since)}),
    until: h('input', {type: 'datetime-local', name: 'until', value: rfc3339ToInput(params.until)}),
    window: select('window', WINDOWS, params.window || ''),
  };
  const form = h('form', {class: 'filters', 'aria-label': 'DORA filters'},
    field('App', inputs.app), field('Environment', inputs.environment),
    field('Since (UTC)', inputs.since), field('Until (UTC)', inputs.until),
    field('Failure window', inputs.window),
    h('div', {class: 'actions'}, h('button', {type: 'submit'}, 'Show')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = hrefWithParams('#/dora', filterParams(inputs));
  });
  return form;
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

// A number cell, labelled for the phone layout (each row a card of "label: value").
function numCell(label, text) {
  return h('td', {class: 'num', 'data-label': label}, text);
}

function seconds(value) {
  return typeof value === 'number' ? formatDuration(value) : 'n/a';
}

function figures(total) {
  const lead = total.lead_time || {};
  const cf = total.change_failure || {};
  const ttr = total.time_to_restore || {};
  return h('div', {class: 'figures', 'data-metric': 'total'},
    figure('deployments completed', String(total.deployments ?? 0), `${formatNumber(total.deployments_per_day)} per day`),
    figure('median lead time', seconds(lead.median_seconds), `mean ${seconds(lead.mean_seconds)}, p90 ${seconds(lead.p90_seconds)}`),
    figure('change failure rate', formatPercent(cf.rate), `${cf.failed ?? 0} of ${cf.completed ?? 0} completed`),
    figure('median time to restore', seconds(ttr.median_seconds),
      `${plural(ttr.opened ?? 0, 'incident')} opened, ${ttr.resolved ?? 0} resolved, ${ttr.unresolved ?? 0} unresolved`));
}

function dayCharts(days) {
  const data = days.map((d) => ({label: asText(d.day), short: String(d.day).slice(5),
    values: {ok: (d.deployments || 0) - (d.failed || 0), failed: d.failed || 0, lead: d.lead_time_median_seconds}}));
  const perDay = barChart({id: 'chart-deploys', title: 'Deployments completed per day',
    description: 'Bars per UTC day; the red part of each bar is deployments that failed (a rollback or incident followed).',
    data, series: [{key: 'ok', className: 'bar-ok', label: 'succeeded'}, {key: 'failed', className: 'bar-failed', label: 'failed'}],
    formatValue: (v) => formatNumber(v, 1)});
  const lead = barChart({id: 'chart-lead', title: 'Median lead time per day',
    description: 'Median time from deploy.requested to deploy.completed, for deployments completed that day.',
    data, series: [{key: 'lead', className: 'bar-lead', label: 'median lead time'}],
    formatValue: (v) => formatDuration(v) || '0s'});
  const table = h('table', {class: 'list compact'},
    h('caption', null, 'Per day'),
    h('thead', null, h('tr', null, ...['Day (UTC)', 'Deployments', 'Failed', 'Median lead time'].map((t) => h('th', {scope: 'col'}, t)))),
    h('tbody', null, days.map((d) => h('tr', {'data-day': asText(d.day)},
      h('th', {scope: 'row', 'data-label': 'Day (UTC)'}, asText(d.day)),
      numCell('Deployments', String(d.deployments ?? 0)), numCell('Failed', String(d.failed ?? 0)),
      numCell('Median lead time', seconds(d.lead_time_median_seconds))))));
  return [h('figure', null, perDay, h('figcaption', null, 'Deployments per day (red: failed)')),
    h('figure', null, lead, h('figcaption', null, 'Median lead time per day')),
    h('details', null, h('summary', null, 'The per-day numbers as a table'), h('div', {class: 'table-wrap'}, table))];
}

function groupsTable(groups) {
  return h('div', {class: 'table-wrap'}, h('table', {class: 'list compact'},
    h('caption', null, 'Per app and environment'),
    h('thead', null, h('tr', null, ...['App', 'Environment', 'Deployments', 'Per day', 'Lead time (median)',
      'Lead time (p90)', 'Change failure rate', 'Time to restore (median)'].map((t) => h('th', {scope: 'col'}, t)))),
    h('tbody', null, groups.map((g) => h('tr', {'data-app': asText(g.app), 'data-environment': asText(g.environment)},
      h('th', {scope: 'row', 'data-label': 'App'}, asText(g.app)),
      h('td', {'data-label': 'Environment'}, asText(g.environment)),
      numCell('Deployments', String(g.deployments ?? 0)), numCell('Per day', formatNumber(g.deployments_per_day)),
      numCell('Lead time (median)', seconds(g.lead_time?.median_seconds)),
      numCell('Lead time (p90)', seconds(g.lead_time?.p90_seconds)),
      numCell('Change failure rate', formatPercent(g.change_failure?.rate)),
      numCell('Time to restore (median)', seconds(g.time_to_restore?.median_seconds)))))));
}

function failuresList(total) {
  const failures = total.change_failure?.failures || [];
  if (!failures.length) return null;
  return h('ul', {class: 'failures'}, failures.map((f) => h('li', null,
    h('a', {href: `#/deployment/${encodeURIComponent(asText(f.deployment))}/at/${Number(f.by_seq)}`}, asText(f.deployment)),
    ` failed: ${asText(f.by_kind)} at #${f.by_seq}`)));
}

// Since, when not given: 30 days before the ledger's latest checkpoint (a drill ledger's time is
// not this machine's).
async function defaultSince(api) {
  try {
    const checkpoint = await api.json('/v1/checkpoint');
    const t = timeMs(checkpoint.time);
    if (Number.isFinite(t)) return new Date(t - 30 * DAY_MS).toISOString().replace(/\.\d+Z$/, 'Z');
  } catch {
    // Fall back to this machine's clock.
  }
  return new Date(Date.now() - 30 * DAY_MS).toISOString().replace(/\.\d+Z$/, 'Z');
}

export async function render(main, route, ctx) {
  const params = Object.fromEntries(route.params);
  if (!params.since) params.since = await defaultSince(ctx.api);
  replaceChildren(main, h('h1', {tabindex: '-1'}, 'DORA metrics'), filterForm(params), h('p', {class: 'pending'}, 'Computing…'));
  let report;
  try {
    report = await ctx.api.json('/v1/dora', params);
  } catch (e) {
    if (!ctx.isCurrent()) return {};
    main.lastChild.replaceWith(h('p', {class: 'error'}, `Could not compute the metrics: ${e.message}`));
    main.dataset.ready = 'error';
    return {};
  }
  if (!ctx.isCurrent()) return {};
  const total = report.total || {};
  const cf = total.change_failure || {};
  main.lastChild.replaceWith(h('div', {class: 'dora'},
    h('p', {class: 'muted'}, `From ${asText(report.since)} to ${asText(report.until)}, failure window ${formatDuration(report.window_seconds)}; computed from the signed records.`),
    figures(total),
    h('section', {'aria-labelledby': 'freq-title'}, h('h2', {id: 'freq-title'}, 'Deployment frequency and lead time'), ...dayCharts(report.days || [])),
    h('section', {'aria-labelledby': 'cf-title'}, h('h2', {id: 'cf-title'}, 'Change failure rate'),
      shareBar({id: 'chart-cf', title: `Change failure rate ${formatPercent(cf.rate)}: ${cf.failed ?? 0} of ${cf.completed ?? 0} completed deployments failed`,
        part: cf.failed || 0, whole: cf.completed || 0, partLabel: 'failed', restLabel: 'succeeded'}),
      h('p', null, `${cf.failed ?? 0} of ${cf.completed ?? 0} completed deployments were followed by a rollback or an incident (${formatPercent(cf.rate)}).`),
      failuresList(total)),
    h('section', {'aria-labelledby': 'groups-title'}, h('h2', {id: 'groups-title'}, 'By app and environment'), groupsTable(report.groups || []))));
  main.dataset.ready = 'true';
  return {};
}
