// Small SVG charts for the DORA page. Each chart is an <svg role="img"> with a title and a
// one-line description; the numbers are also in a table beside it (the DORA view's job), so
// nothing is only in the drawing.

import {svg} from '../dom.js';

const W = 640;
const H = 220;
const M = {top: 16, right: 12, bottom: 34, left: 52};

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const scaled = value / power;
  const step = scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10;
  return step * power;
}

// Bars per category. series: [{key, className, label}] stacked in order; data: [{label, values
// {key: number|null}, tip}]. formatValue formats the y axis.
export function barChart({id, title, description, data, series, formatValue}) {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const totals = data.map((d) => series.reduce((sum, s) => sum + (Number(d.values[s.key]) || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const band = plotW / Math.max(data.length, 1);
  const barW = Math.max(1, Math.min(40, band * 0.7));
  const y = (v) => M.top + plotH - (v / max) * plotH;

  const root = svg('svg', {class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-labelledby': `${id}-title ${id}-desc`, preserveAspectRatio: 'xMidYMid meet'},
  svg('title', {id: `${id}-title`}, title), svg('desc', {id: `${id}-desc`}, description));
  for (const fraction of [0, 0.5, 1]) {
    const v = max * fraction;
    root.appendChild(svg('line', {x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), class: 'grid'}));
    root.appendChild(svg('text', {x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis-label'}, formatValue(v)));
  }
  const labelEvery = Math.ceil(data.length / 8);
  data.forEach((d, i) => {
    const cx = M.left + band * i + band / 2;
    let base = 0;
    for (const s of series) {
      const value = Number(d.values[s.key]) || 0;
      if (value > 0) {
        root.appendChild(svg('rect', {x: cx - barW / 2, y: y(base + value), width: barW,
          height: Math.max(y(base) - y(base + value), 1), class: `bar ${s.className}`},
        svg('title', null, `${d.label}: ${s.label} ${formatValue(value)}`)));
      }
      base += value;
    }
    if (i % labelEvery === 0) {
      root.appendChild(svg('text', {x: cx, y: H - M.bottom + 16, 'text-anchor': 'middle', class: 'axis-label'}, d.short || d.label));
    }
  });
  return root;
}

// One big number with its label, as an SVG-free figure (text is the most readable chart).
export function figure(label, value, note) {
  const wrapper = document.createElement('div');
  wrapper.className = 'figure';
  const v = document.createElement('p');
  v.className = 'figure-value';
  v.textContent = value;
  const l = document.createElement('p');
  l.className = 'figure-label';
  l.textContent = label;
  wrapper.append(v, l);
  if (note) {
    const n = document.createElement('p');
    n.className = 'figure-note';
    n.textContent = note;
    wrapper.appendChild(n);
  }
  return wrapper;
}

// A horizontal share bar: `part` of `whole`, e.g. failed of completed deployments.
export function shareBar({id, title, part, whole, partLabel, restLabel}) {
  const width = 640;
  const share = whole > 0 ? part / whole : 0;
  return svg('svg', {class: 'chart share', viewBox: `0 0 ${width} 40`, role: 'img', 'aria-labelledby': `${id}-title`},
    svg('title', {id: `${id}-title`}, title),
    svg('rect', {x: 0, y: 8, width, height: 24, class: 'bar bar-ok'}, svg('title', null, `${restLabel}: ${whole - part}`)),
    share > 0 ? svg('rect', {x: 0, y: 8, width: width * share, height: 24, class: 'bar bar-failed'},
      svg('title', null, `${partLabel}: ${part}`)) : null);
}
