// The console's entry point: the keys, the router, and the view for each route. Views are
// modules with render(main, route, ctx) -> {cleanup?, update?(route) -> bool}; update lets a
// view take a route change itself (the deployment page moving its replay point) instead of
// being built again.

import {Api, queryString} from './api.js';
import {h, replaceChildren} from './dom.js';
import {importReaderKey, loadPinnedKey, loadReaderKeyFile} from './keys.js';
import {parseRoute} from './router.js';
import * as connectView from './views/connect.js';
import * as deploymentsView from './views/deployments.js';
import * as deploymentView from './views/deployment.js';
import * as waiversView from './views/waivers.js';
import * as denialsView from './views/denials.js';
import * as imagesView from './views/images.js';
import * as keysView from './views/keys.js';
import * as doraView from './views/dora.js';

const VIEWS = {
  'connect': connectView,
  'deployments': deploymentsView,
  'deployment': deploymentView,
  'audit-waivers': waiversView,
  'audit-denials': denialsView,
  'audit-images': imagesView,
  'audit-keys': keysView,
  'dora': doraView,
};

const main = document.getElementById('main');
const banner = document.getElementById('banner');
const announcer = document.getElementById('announcer');
const trustStatus = document.getElementById('trust-status');

// What every view gets: the signed API, the pinned key, and the page's shared regions.
const ctx = {
  api: null,
  pinnedKey: '',
  reader: null,
  banner,
  // Says `text` to screen readers through the polite live region.
  announce(text) {
    announcer.textContent = '';
    // A new text node after clearing makes screen readers read it even if it repeats.
    setTimeout(() => { announcer.textContent = text; }, 30);
  },
  // Called by the connect view when the keys change.
  async keysChanged() {
    await loadKeys();
    renderTrustStatus();
  },
};

let current = null;  // {name, view, handle, generation}
let generation = 0;

async function loadKeys() {
  ctx.pinnedKey = loadPinnedKey();
  const keyFile = loadReaderKeyFile();
  ctx.reader = null;
  if (keyFile) {
    try {
      ctx.reader = await importReaderKey(keyFile);
    } catch (e) {
      ctx.readerError = e.message;
    }
  }
  ctx.api = new Api(ctx.reader);
}

function renderTrustStatus() {
  const pinned = ctx.pinnedKey ? `ledger key pinned ${ctx.pinnedKey.slice(0, 12)}…` : 'no ledger key pinned';
  const reader = ctx.reader ? `reading as key ${ctx.reader.keyid.slice(0, 12)}…` : 'no reader key';
  replaceChildren(trustStatus, `${pinned} · ${reader}`);
}

function markNav(name) {
  for (const link of document.querySelectorAll('[data-nav]')) {
    const active = link.dataset.nav === name;
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

// Without both keys nothing can be read or checked: the connect view comes first.
function needsKeys(route) {
  return route.name !== 'connect' && (!ctx.pinnedKey || !ctx.reader);
}

async function route() {
  const hash = location.hash;
  // In-page anchors (#seq-12, #main) are not routes: they only move focus (see onAnchorClick).
  if (hash && !hash.startsWith('#/')) return;
  const next = parseRoute(hash);
  if (needsKeys(next)) {
    // Keys first; the connect view links back to where the user was going.
    location.replace(`#/connect${queryString({next: hash || '#/deployments'})}`);
    return;
  }
  if (current && current.name === next.name && current.handle && current.handle.update &&
      current.handle.update(next)) {
    return;
  }
  if (current && current.handle && current.handle.cleanup) current.handle.cleanup();
  banner.hidden = true;
  replaceChildren(banner);
  const view = VIEWS[next.name];
  const mine = ++generation;
  markNav(next.name);
  replaceChildren(main);
  delete main.dataset.verification;
  delete main.dataset.ready;
  current = {name: next.name, view, handle: null};
  try {
    // The view's context reads the shared one through its prototype (keys loaded later show
    // through) and adds whether this render is still the one on screen.
    const viewCtx = Object.create(ctx, {isCurrent: {value: () => mine === generation}});
    const handle = await view.render(main, next, viewCtx);
    if (mine === generation) current.handle = handle || null;
  } catch (e) {
    if (mine !== generation) return;
    // A refused read is usually the keys: say so, and where to fix them.
    const refused = e.status === 401 || e.status === 403;
    replaceChildren(main, h('h1', {tabindex: '-1'}, refused ? 'The server refused this read' : 'Something went wrong'),
      h('p', {class: 'error'}, e.message),
      refused ? h('p', null, h('a', {href: '#/connect'}, 'Check the reader key'), ' (its roles decide what it may read).') : null);
    main.dataset.ready = 'error';
  }
}

// Links to an element of this page (#seq-12): scroll to it and focus it without touching the
// route in the address bar.
function onAnchorClick(event) {
  const link = event.target.closest('a[href^="#"]');
  if (!link) return;
  const href = link.getAttribute('href');
  if (href.startsWith('#/')) return;
  event.preventDefault();
  const target = document.getElementById(href.slice(1));
  if (!target) return;
  if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
  target.scrollIntoView({block: 'center'});
  target.focus({preventScroll: true});
  target.classList.add('flash');
  setTimeout(() => target.classList.remove('flash'), 1500);
}

async function start() {
  document.addEventListener('click', onAnchorClick);
  window.addEventListener('hashchange', route);
  await loadKeys();
  renderTrustStatus();
  if (!location.hash || !location.hash.startsWith('#/')) history.replaceState(null, '', '#/deployments');
  await route();
}

start();
