// Keys & trust: the ledger key this browser pins (what every record is checked against) and the
// reader's key that signs the reads. The pinned key is typed in by the user from a source they
// trust (DATA/ledger.key.pub on the ledger's host, a release note, a colleague); the server's
// own claim is only shown beside it for comparison, never used.

import {h, field, replaceChildren} from '../dom.js';
import {
  forgetPinnedKey, forgetReaderKey, importReaderKey, isKeyHex, loadPinnedKey, parseKeyFile,
  saveReaderKeyFile, savePinnedKey,
} from '../keys.js';
import {Api} from '../api.js';

export async function render(main, route, ctx) {
  const status = h('div', {class: 'connect-status', 'aria-live': 'polite'});
  const pinnedInput = h('input', {
    type: 'text', name: 'pinned', autocomplete: 'off', spellcheck: 'false',
    pattern: '[0-9a-fA-F]{64}', size: '66', value: loadPinnedKey(), class: 'mono',
  });
  const keyFileInput = h('input', {type: 'file', name: 'keyfile', accept: '.key,.json,application/json'});
  const keyText = h('textarea', {name: 'keytext', rows: '4', spellcheck: 'false', class: 'mono',
    placeholder: '{"type":"ed25519","secret":"…","public":"…"}'});
  const claimed = h('div', {class: 'claimed-key'});
  const whoami = h('div', {class: 'whoami'});

  const pinForm = h('form', {class: 'card', 'aria-labelledby': 'pin-title'},
    h('h2', {id: 'pin-title'}, '1. Pin the ledger’s public key'),
    h('p', null, 'Every record this console shows is checked against this key: the checkpoint’s signature and the record’s inclusion proof. Get it from a source you trust, such as DATA/ledger.key.pub on the ledger’s host; the console never takes it from the server it is checking.'),
    field('Ledger public key (64 hex characters)', pinnedInput),
    h('div', {class: 'actions'},
      h('button', {type: 'submit'}, 'Pin this key'),
      h('button', {type: 'button', class: 'secondary', onclick: async () => {
        forgetPinnedKey();
        pinnedInput.value = '';
        await ctx.keysChanged();
        say('The pinned ledger key is forgotten.');
      }}, 'Forget pinned key')),
    claimed);

  const keyForm = h('form', {class: 'card', 'aria-labelledby': 'reader-title'},
    h('h2', {id: 'reader-title'}, '2. Load your reader key'),
    h('p', null, 'A shiplog key file enrolled with a role that may read (an auditor, say). It signs each request in this browser; it stays in this tab’s session storage and is gone when the tab closes.'),
    field('Key file', keyFileInput),
    field('Or paste the key file', keyText),
    h('div', {class: 'actions'},
      h('button', {type: 'submit'}, 'Use this key'),
      h('button', {type: 'button', class: 'secondary', onclick: async () => {
        forgetReaderKey();
        await ctx.keysChanged();
        replaceChildren(whoami);
        say('The reader key is forgotten.');
      }}, 'Forget reader key')),
    whoami);

  function say(text, isError) {
    replaceChildren(status, h('p', {class: isError ? 'error' : 'ok'}, text));
  }

  pinForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      savePinnedKey(pinnedInput.value);
      await ctx.keysChanged();
      say('Ledger key pinned.');
      await showClaim();
    } catch (e) {
      say(e.message, true);
    }
  });

  keyFileInput.addEventListener('change', async () => {
    const file = keyFileInput.files && keyFileInput.files[0];
    if (file) keyText.value = await file.text();
  });

  keyForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const keyFile = parseKeyFile(keyText.value);
      await importReaderKey(keyFile);  // refuses a broken pair before anything is stored
      saveReaderKeyFile(keyFile);
      keyText.value = '';
      await ctx.keysChanged();
      say('Reader key loaded.');
      await showIdentity();
      await showClaim();
    } catch (e) {
      say(e.message, true);
    }
  });

  // Who the server says this key is (GET /v1/whoami, signed).
  async function showIdentity() {
    const api = currentApi();
    if (!api.reader) return;
    try {
      const me = await api.json('/v1/whoami');
      replaceChildren(whoami, h('p', {class: 'ok'},
        `The server knows this key as ${me.name} (roles: ${(me.roles || []).join(', ') || 'none'}), keyid ${api.reader.keyid}.`));
    } catch (e) {
      replaceChildren(whoami, h('p', {class: 'error'}, `The server refused this key: ${e.message}`));
    }
  }

  // The key the server claims (its genesis record), shown next to the pinned one.
  async function showClaim() {
    const api = currentApi();
    const pinned = loadPinnedKey();
    if (!api.reader) return;
    try {
      const [genesis] = await api.lines('/v1/query', {to_seq: 0});
      const serverKey = String(genesis?.event?.ledger_key || '');
      const same = isKeyHex(serverKey) && serverKey === pinned;
      replaceChildren(claimed,
        h('p', null, 'The server claims its ledger key is ', h('code', {class: 'mono'}, serverKey || '(none)'), '.'),
        h('p', {class: same ? 'ok' : 'warn'}, same
          ? '✓ It is the key you pinned.'
          : '✗ It is not the key you pinned: records will not verify. Check with the ledger’s operator which key is right.'));
    } catch (e) {
      replaceChildren(claimed, h('p', {class: 'warn'}, `Could not read the server’s claim: ${e.message}`));
    }
  }

  // ctx reads the console's shared state, so after keysChanged() it holds the new keys.
  function currentApi() {
    return ctx.api || new Api(null);
  }

  // Where the user was going when the console sent them here for keys.
  const wanted = route.params.get('next') || '';
  const nextHash = wanted.startsWith('#/') && !wanted.startsWith('#/connect') ? wanted : '#/deployments';
  const intro = wanted
    ? h('p', {class: 'notice'}, 'Pin the ledger key and load a reader key to continue.')
    : null;
  const next = h('p', null, h('a', {href: nextHash, class: 'button-link'}, 'Continue to the console'));
  replaceChildren(main,
    h('h1', {tabindex: '-1'}, 'Keys & trust'),
    intro, status, pinForm, keyForm, next);
  main.dataset.ready = 'true';
  // What the server makes of the keys stored when the view opens.
  if (ctx.reader) {
    showIdentity();
    showClaim();
  } else if (ctx.readerError) {
    say(`The stored reader key cannot be used: ${ctx.readerError}`, true);
  }
  return {};
}
