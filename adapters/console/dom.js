// Building the page without ever parsing text as markup. Every string the API returns is
// attacker-controlled (event fields are whatever an agent signed), so nodes are made with
// createElement / createElementNS and filled with textContent and setAttribute only; nothing
// here takes HTML. The Content-Security-Policy forbids inline styles as well, so sizes and
// positions go through SVG attributes or CSSOM (element.style), never a style attribute.

const SVG_NS = 'http://www.w3.org/2000/svg';

// Applies `attrs` to `node`: on* keys become listeners, `class` a class list, `dataset`-style
// keys (data-*) and the rest plain attributes. Values that are null/undefined/false are skipped.
function applyAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === 'text') {
      node.textContent = String(value);
    } else {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
}

// Appends children: nodes as they are, strings and numbers as text nodes, arrays flattened.
function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) {
      append(node, child);
    } else if (child instanceof Node) {
      node.appendChild(child);
    } else {
      node.appendChild(document.createTextNode(String(child)));
    }
  }
  return node;
}

// h('a', {href: '#/x', class: 'y'}, 'text', child, ...): an HTML element.
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  applyAttrs(node, attrs);
  return append(node, children);
}

// The same for SVG elements (createElementNS: an SVG element made with createElement is inert).
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  applyAttrs(node, attrs);
  return append(node, children);
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// Replaces node's children with `children`.
export function replaceChildren(node, ...children) {
  clear(node);
  return append(node, children);
}

// A labelled form field: <label for=id>text</label> and the control, in a wrapper div.
export function field(labelText, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  const parts = [h('label', {for: id}, labelText), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute('aria-describedby', hintId);
    parts.push(h('p', {class: 'hint', id: hintId}, hint));
  }
  return h('div', {class: 'field'}, ...parts);
}

// <select> with `options` as [value, label] pairs, `selected` chosen.
export function select(name, options, selected) {
  return h('select', {name},
    options.map(([value, label]) => h('option', {value, selected: value === selected}, label)));
}

// A small definition list from [term, value] pairs (value: string or node); empty values dropped.
export function definitionList(pairs, className) {
  const dl = h('dl', {class: className || 'facts'});
  for (const [term, value] of pairs) {
    if (value === null || value === undefined || value === '') continue;
    dl.appendChild(h('dt', null, term));
    dl.appendChild(h('dd', null, value));
  }
  return dl;
}
