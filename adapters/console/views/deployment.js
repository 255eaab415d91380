// One deployment, for an incident review: what it was, the timeline drawn to scale (a lane per
// step), the soaks and canary phases in words, every record with its decision, and "replay at
// this point" for any record (click or Enter on a mark, or a row's Replay button). Every record
// shown is verified in the browser; the route #/deployment/<id>/at/<seq> opens the replay.

import {deploymentPath} from '../api.js';
import {h, definitionList, replaceChildren} from '../dom.js';
import {asText, formatDuration, formatTime} from '../format.js';
import {deploymentHref} from '../router.js';
import {compareSigner, loadKeyBook} from '../keybook.js';
import {loadRuleBook} from '../rules.js';
import {VerificationSession, compareTimelineEntrySafe} from '../verification.js';
import {entriesTable} from './entries.js';
import {showReplay} from './replay.js';
import {drawTimeline} from './timeline_svg.js';

const PAGE_LIMIT = 1000;  // the timeline endpoint takes up to 2000 entries a page

// The whole timeline, a page at a time (the server bounds each answer's memory by its page).
async function loadTimeline(api, id) {
  const path = deploymentPath(id, '/timeline');
  const first = await api.json(path, {limit: PAGE_LIMIT});
  const entries = [...(first.entries || [])];
  let next = first.page?.next_from;
  while (next !== undefined && next !== null) {
    const page = await api.json(path, {from: next, limit: PAGE_LIMIT});
    entries.push(...(page.entries || []));
    next = page.page?.next_from;
  }
  return {...first, entries};
}

function header(t) {
  const total = t.page?.total_entries ?? t.entries.length;
  return h('header', {class: 'deployment-header'},
    h('h1', {tabindex: '-1'}, 'Deployment ', h('span', {class: 'mono'}, asText(t.deployment))),
    h('p', {class: 'meta'}, `${asText(t.app)} ${asText(t.version)} to ${asText(t.environment)}`,
      h('span', {class: `status status-${String(t.outcome).replace(/[^a-z]+/gi, '-').toLowerCase()}`}, asText(t.outcome))),
    definitionList([
      ['Image', h('code', {class: 'mono wrap'}, asText(t.image))],
      ['Events', `${total} from ${formatTime(t.started)} to ${formatTime(t.ended)} (${formatDuration(t.duration_seconds)})`],
      ['Denied attempts', String(t.denials ?? 0)],
      ['Waivers', String(t.waivers ?? 0)],
      ['Bad signatures', String(t.bad_signatures ?? 0)],
    ]),
    t.manual_clock ? h('p', {class: 'drill'}, 'A drill ledger on a manual clock: its times are not real.') : null);
}

function legend() {
  const item = (cls, glyph, text) => h('li', null, h('span', {class: `legend-mark ${cls}`, 'aria-hidden': 'true'}, glyph), text);
  return h('ul', {class: 'legend', 'aria-label': 'Legend'},
    item('k-step', '', 'step or intent'), item('k-gate', '', 'gate result'), item('k-review', '', 'review'),
    item('denied', '✕', 'denied attempt'), item('waiver', 'W', 'waiver'), item('k-fail', '', 'failure reported'),
    item('soak', '', 'soak (READY until the next step)'), item('phase', '', 'canary weight, as long as it held'));
}

// The soaks and canary phases as text: the drawing's numbers for those who cannot see it.
function measures(t) {
  const items = [];
  for (const s of t.steps || []) {
    if (typeof s.soak_seconds !== 'number') continue;
    items.push(`${asText(s.step)} READY at #${s.ready_seq} for ${formatDuration(s.soak_seconds)} before ${asText(s.next_step)} started`);
  }
  for (const p of t.canary || []) {
    items.push(`canary ${p.weight}% from #${p.seq}: ${typeof p.held_seconds === 'number' ? `held ${formatDuration(p.held_seconds)}` : 'still holding'}`);
  }
  items.push(`total ${formatDuration(t.duration_seconds)}, ${asText(t.outcome)}`);
  return h('section', {class: 'measures', 'aria-labelledby': 'measures-title'},
    h('h2', {id: 'measures-title'}, 'Soaks and canary phases'),
    h('ul', null, items.map((text) => h('li', null, text))));
}

export async function render(main, route, ctx) {
  const id = route.id;
  replaceChildren(main, h('h1', {tabindex: '-1'}, 'Deployment ', h('span', {class: 'mono'}, id)),
    h('p', {class: 'pending'}, 'Loading the timeline…'));
  const session = new VerificationSession({api: ctx.api, pinnedKey: ctx.pinnedKey,
    banner: ctx.banner, root: main, isCurrent: ctx.isCurrent});
  const [timeline, book, keys] = await Promise.all([
    loadTimeline(ctx.api, id),
    loadRuleBook(ctx.api, session).catch(() => null),  // sentences are a help, not a must
    loadKeyBook(ctx.api, session).catch(() => null),   // signer names are checked when it loads
  ]);
  if (!ctx.isCurrent()) return {};
  performance.mark('shiplog:deployment-fetched');

  const replayPanel = h('section', {class: 'replay', 'aria-live': 'polite', 'aria-labelledby': 'replay-title', hidden: true});
  const drawing = h('div', {class: 'timeline-wrap'});
  const present = new Set(timeline.entries.map((e) => Number(e.seq)));
  let selectedSeq = null;
  let zoom = 1;
  let chart = null;

  // A mark or a Replay button: the route carries the point, so it can be shared and goes back.
  function choose(seq) {
    const href = deploymentHref(id, seq);
    if (location.hash === href) select(seq, true);
    else location.hash = href;
  }

  function select(seq, focus) {
    if (selectedSeq !== null) document.getElementById(`seq-${selectedSeq}`)?.classList.remove('selected');
    selectedSeq = seq;
    if (seq === null) {
      replayPanel.hidden = true;
      chart?.select(null);
      return;
    }
    document.getElementById(`seq-${seq}`)?.classList.add('selected');
    chart?.select(seq);
    showReplay(replayPanel, {api: ctx.api, id, seq, book, present, focus});
  }

  function draw() {
    const width = Math.max(drawing.clientWidth - 2, 300);
    chart = drawTimeline(timeline, {width, zoom, labelWidth: width > 640 ? 120 : 84, onSelect: choose});
    replaceChildren(drawing, chart.element);
    if (selectedSeq !== null) chart.select(selectedSeq);
  }

  const zoomButtons = h('div', {class: 'zoom', role: 'group', 'aria-label': 'Zoom the timeline'},
    h('button', {type: 'button', class: 'small secondary', onclick: () => { zoom = Math.min(zoom * 2, 64); draw(); }}, 'Zoom in'),
    h('button', {type: 'button', class: 'small secondary', onclick: () => { zoom = Math.max(zoom / 2, 1); draw(); }}, 'Zoom out'),
    h('button', {type: 'button', class: 'small secondary', onclick: () => { zoom = 1; draw(); }}, 'Fit'));

  // The drawing is sized from its container, so it is drawn before the long table goes in:
  // measuring after would lay out every row first.
  const entriesSection = h('section', {class: 'entries', 'aria-labelledby': 'entries-title'},
    h('h2', {id: 'entries-title'}, 'Records and decisions'));
  replaceChildren(main,
    header(timeline),
    h('section', {class: 'timeline', 'aria-labelledby': 'timeline-title'},
      h('div', {class: 'section-head'}, h('h2', {id: 'timeline-title'}, 'Timeline'), zoomButtons),
      h('p', {class: 'hint'}, 'Each mark is a record, placed at its ledger time. Tab to a mark and press Enter (or click it) to replay the deployment at that point.'),
      legend(), drawing),
    replayPanel,
    measures(timeline),
    entriesSection);
  draw();
  performance.mark('shiplog:timeline-drawn');
  const {table, rows} = entriesTable(timeline.entries, book, choose);
  entriesSection.appendChild(h('div', {class: 'table-wrap'}, table));
  main.dataset.ready = 'true';
  performance.mark('shiplog:deployment-rendered');

  session.check(rows.map((r) => ({row: r.row, cell: r.verifyCell,
    checks: [{seq: Number(r.entry.seq),
      compare: (decoded) => compareTimelineEntrySafe(decoded, r.entry) || compareSigner(keys, r.entry)}]})));
  if (route.seq !== null) select(route.seq, false);

  return {
    update(next) {
      if (next.id !== id) return false;
      select(next.seq, true);
      return true;
    },
  };
}
