// The deployment drawn to scale in ledger time: one lane per step (and lanes for the request,
// reviews, gates, backup, traffic, waivers, rollback), each step's run from its start to its
// READY report, the soak after it until the next step started, canary phases as a traffic
// ramp whose width is how long each weight held, and a mark per event. Marks are keyboard
// reachable (Tab, Enter or Space replays the deployment at that event). The same facts are on
// the page as text (the entries table and the soak and canary lists), for readers who cannot
// see the drawing.

import {svg} from '../dom.js';
import {formatDuration, formatTime, timeMs} from '../format.js';

const LANE_H = 40;
const AXIS_H = 30;
const MARK = 7;             // half the size of a mark
const ROW_OFFSETS = [0, -11, 11];  // marks too close in one lane spread over three rows
const PAD_RIGHT = 24;

// The lane an entry is drawn in: its step, or a lane for what it is about.
export function laneOf(entry) {
  if (entry.step) return entry.step;
  switch (entry.kind) {
    case 'deploy.requested':
    case 'deploy.completed': return 'deployment';
    case 'review': return 'reviews';
    case 'gate.result': return 'gates';
    case 'backup.verified': return 'backup';
    case 'traffic.shifted': return 'traffic';
    case 'waiver.granted': return 'waivers';
    case 'rollback.started':
    case 'rollback.completed': return 'rollback';
    default: return String(entry.kind || 'other');
  }
}

// The deployment, its reviews, the planned steps in chain order, then the rest as they appear;
// only lanes with something in them.
export function lanesOf(timeline) {
  const wanted = ['deployment', 'reviews', ...(timeline.planned_steps || []),
    ...timeline.entries.map(laneOf), ...(timeline.canary?.length ? ['traffic'] : [])];
  const used = new Set(timeline.entries.map(laneOf));
  if (timeline.canary?.length) used.add('traffic');
  for (const s of timeline.steps || []) if (s.started) used.add(s.step);
  return [...new Set(wanted)].filter((lane) => used.has(lane));
}

function isFailure(entry) {
  const f = entry.fields || {};
  const outcome = String(f.outcome || f.verdict || '').toLowerCase();
  const status = String(f.status || '').toLowerCase();
  return outcome === 'fail' || outcome === 'rejected' || status === 'blocked' || status === 'failed';
}

function markClass(entry) {
  const kind = entry.kind === 'gate.result' ? 'k-gate' : entry.kind === 'review' ? 'k-review' : 'k-step';
  return ['mark', kind, isFailure(entry) && 'k-fail', entry.denied && 'denied', entry.waiver && 'waiver']
    .filter(Boolean).join(' ');
}

export function verdictText(entry) {
  if (entry.denied) return 'DENIED';
  if (entry.waiver) return `WAIVER of ${entry.waiver.rule}`;
  if (entry.decision) return entry.decision.allowed ? 'allowed' : 'DENIED';
  return '';
}

function markLabel(entry) {
  const verdict = verdictText(entry);
  return `#${entry.seq} ${formatTime(entry.time)} ${entry.who?.name || ''} ${entry.kind}` +
    `${entry.step ? ` ${entry.step}` : ''}${verdict ? `, ${verdict}` : ''}. Enter replays the deployment at this event.`;
}

function markShape(entry) {
  if (entry.kind === 'review') return svg('circle', {r: MARK});
  if (entry.kind === 'gate.result') {
    return svg('path', {d: `M0 ${-MARK - 1} L${MARK + 1} 0 L0 ${MARK + 1} L${-MARK - 1} 0 Z`});
  }
  return svg('rect', {x: -MARK, y: -MARK, width: MARK * 2, height: MARK * 2, rx: 2});
}

function markGlyph(entry) {
  if (entry.denied) return svg('text', {class: 'glyph', 'text-anchor': 'middle', y: 4}, '✕');
  if (entry.waiver) return svg('text', {class: 'glyph', 'text-anchor': 'middle', y: 4}, 'W');
  return null;
}

// A tick every `step` ms with labels, chosen so labels are ~110 px apart.
function axisTicks(t0, span, plotWidth) {
  const steps = [1e3, 5e3, 15e3, 30e3, 60e3, 300e3, 900e3, 1800e3, 3600e3, 10800e3, 21600e3,
    43200e3, 86400e3, 604800e3];
  const wanted = span / Math.max(1, plotWidth / 110);
  const step = steps.find((s) => s >= wanted) || steps[steps.length - 1];
  const ticks = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t0 + span; t += step) ticks.push(t);
  return {ticks, step};
}

function tickLabel(t, step) {
  const iso = new Date(t).toISOString();
  return step < 60e3 ? iso.slice(11, 19) : step < 86400e3 ? iso.slice(11, 16) : iso.slice(5, 10);
}

// Builds the drawing. options: {width (px available), zoom, labelWidth, onSelect(seq)}.
// Returns {element, select(seq)}.
export function drawTimeline(timeline, options) {
  const entries = timeline.entries;
  const lanes = lanesOf(timeline);
  const labelWidth = options.labelWidth;
  const times = entries.map((e) => timeMs(e.time)).filter(Number.isFinite);
  const t0 = Math.min(timeMs(timeline.started), ...times);
  const t1 = Math.max(timeMs(timeline.ended), ...times);
  const span = Math.max(t1 - t0, 1000);
  const plotWidth = Math.max(options.width - labelWidth - PAD_RIGHT, 240) * options.zoom;
  const width = labelWidth + plotWidth + PAD_RIGHT;
  const height = AXIS_H + lanes.length * LANE_H + 8;
  const x = (t) => labelWidth + ((t - t0) / span) * plotWidth;
  const laneY = new Map(lanes.map((lane, i) => [lane, AXIS_H + i * LANE_H]));

  const root = svg('svg', {class: 'timeline-svg', width, height, viewBox: `0 0 ${width} ${height}`,
    role: 'group', 'aria-label': `Timeline of ${timeline.deployment} in ledger time, one lane per step; ${entries.length} events`});
  root.appendChild(defs());
  root.appendChild(drawAxis(t0, span, plotWidth, x, height));
  root.appendChild(drawLanes(lanes, laneY, labelWidth, width));
  root.appendChild(drawSpans(timeline, laneY, x, t1));
  root.appendChild(drawCanary(timeline, laneY, x, t1));
  const cursor = svg('line', {class: 'replay-cursor', x1: 0, x2: 0, y1: AXIS_H - 4, y2: height, visibility: 'hidden'});
  root.appendChild(cursor);
  const {group, bySeq} = drawMarks(entries, laneY, x);
  root.appendChild(group);

  const activate = (event) => {
    const mark = event.target.closest('.mark');
    if (mark) options.onSelect(Number(mark.dataset.seq));
  };
  root.addEventListener('click', activate);
  root.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      activate(event);
    }
  });

  let selected = null;
  return {
    element: root,
    select(seq) {
      if (selected) selected.classList.remove('selected');
      selected = bySeq.get(seq) || null;
      if (!selected) {
        cursor.setAttribute('visibility', 'hidden');
        return;
      }
      selected.classList.add('selected');
      const cx = Number(selected.dataset.x);
      cursor.setAttribute('x1', cx);
      cursor.setAttribute('x2', cx);
      cursor.setAttribute('visibility', 'visible');
    },
  };
}

function defs() {
  return svg('defs', null,
    svg('pattern', {id: 'soak-hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)'},
      svg('rect', {width: 6, height: 6, class: 'soak-bg'}),
      svg('line', {x1: 0, y1: 0, x2: 0, y2: 6, class: 'soak-line'})));
}

function drawAxis(t0, span, plotWidth, x, height) {
  const {ticks, step} = axisTicks(t0, span, plotWidth);
  const group = svg('g', {class: 'axis', 'aria-hidden': 'true'});
  ticks.forEach((t, i) => {
    const tx = x(t);
    group.appendChild(svg('line', {x1: tx, x2: tx, y1: AXIS_H - 6, y2: height, class: 'tick'}));
    const label = i === 0 && step < 86400e3 ? `${new Date(t).toISOString().slice(5, 10)} ${tickLabel(t, step)}` : tickLabel(t, step);
    group.appendChild(svg('text', {x: tx + 3, y: AXIS_H - 12, class: 'tick-label'}, label));
  });
  group.appendChild(svg('text', {x: 4, y: AXIS_H - 12, class: 'tick-label'}, 'UTC'));
  return group;
}

function drawLanes(lanes, laneY, labelWidth, width) {
  const group = svg('g', {class: 'lanes', 'aria-hidden': 'true'});
  lanes.forEach((lane, i) => {
    const y = laneY.get(lane);
    group.appendChild(svg('rect', {x: 0, y, width, height: LANE_H, class: i % 2 ? 'lane odd' : 'lane'}));
    const name = lane.length > 16 ? `${lane.slice(0, 15)}…` : lane;
    group.appendChild(svg('text', {x: 8, y: y + LANE_H / 2 + 4, class: 'lane-name'}, name, svg('title', null, lane)));
    group.appendChild(svg('line', {x1: labelWidth, x2: width, y1: y + LANE_H / 2, y2: y + LANE_H / 2, class: 'lane-axis'}));
  });
  return group;
}

// Each step's run (start to READY, or to the end while it runs) and its soak (READY until the
// next step started), to scale.
function drawSpans(timeline, laneY, x, t1) {
  const group = svg('g', {class: 'spans'});
  for (const s of timeline.steps || []) {
    const y = laneY.get(s.step);
    if (y === undefined || !s.started) continue;
    const from = timeMs(s.started);
    const to = s.ready ? timeMs(s.ready) : t1;
    const status = String(s.status || '').toLowerCase().replace(/[^a-z]+/g, '-');
    group.appendChild(svg('rect', {x: x(from), y: y + LANE_H / 2 - 5, width: Math.max(x(to) - x(from), 2), height: 10,
      class: `step-run status-${status}`},
    svg('title', null, `${s.step}: started ${formatTime(s.started)}${s.ready ? `, READY ${formatTime(s.ready)}` : `, ${s.status}`}`)));
    if (s.ready && typeof s.soak_seconds === 'number') {
      const soakEnd = timeMs(s.ready) + s.soak_seconds * 1000;
      group.appendChild(svg('rect', {x: x(timeMs(s.ready)), y: y + LANE_H / 2 - 8,
        width: Math.max(x(soakEnd) - x(timeMs(s.ready)), 2), height: 16, class: 'soak'},
      svg('title', null, `${s.step} soaked ${formatDuration(s.soak_seconds)} (READY until ${s.next_step} started)`)));
    }
  }
  return group;
}

// Canary phases in the traffic lane: each weight a block as wide as it held and as tall as its
// share of traffic.
function drawCanary(timeline, laneY, x, t1) {
  const group = svg('g', {class: 'canary'});
  const y = laneY.get('traffic');
  if (y === undefined) return group;
  for (const p of timeline.canary || []) {
    const from = timeMs(p.from);
    const to = typeof p.held_seconds === 'number' ? from + p.held_seconds * 1000 : t1;
    const tall = Math.max(3, ((LANE_H - 8) * Math.min(Number(p.weight) || 0, 100)) / 100);
    const w = Math.max(x(to) - x(from), 2);
    group.appendChild(svg('rect', {x: x(from), y: y + LANE_H - 4 - tall, width: w, height: tall, class: 'phase'},
      svg('title', null, `canary ${p.weight}% from #${p.seq}, ${typeof p.held_seconds === 'number' ? `held ${formatDuration(p.held_seconds)}` : 'still holding'}`)));
    if (w > 30) {
      group.appendChild(svg('text', {x: x(from) + 4, y: y + 12, class: 'phase-label', 'aria-hidden': 'true'}, `${p.weight}%`));
    }
  }
  return group;
}

function drawMarks(entries, laneY, x) {
  const group = svg('g', {class: 'marks'});
  const lastX = new Map();  // lane -> x of the last mark in each of its rows
  const bySeq = new Map();
  for (const entry of entries) {
    const lane = laneOf(entry);
    const y = laneY.get(lane);
    const mx = x(timeMs(entry.time));
    if (y === undefined || !Number.isFinite(mx)) continue;
    const rows = lastX.get(lane) || ROW_OFFSETS.map(() => -Infinity);
    let row = rows.findIndex((last) => mx - last >= MARK * 2 + 1);
    if (row < 0) row = rows.indexOf(Math.min(...rows));
    rows[row] = mx;
    lastX.set(lane, rows);
    const mark = svg('g', {class: markClass(entry), tabindex: '0', role: 'button', 'data-seq': entry.seq,
      'data-x': mx, transform: `translate(${mx.toFixed(1)} ${(y + LANE_H / 2 + ROW_OFFSETS[row]).toFixed(1)})`,
      'aria-label': markLabel(entry)},
    svg('title', null, `${markLabel(entry)}\n${entry.summary || ''}`),
    markShape(entry), markGlyph(entry));
    bySeq.set(entry.seq, mark);
    group.appendChild(mark);
  }
  return {group, bySeq};
}
