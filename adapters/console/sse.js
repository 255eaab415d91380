// The live feed: GET /v1/stream as Server-Sent Events. EventSource cannot sign its request, so
// this reads the answer of a signed fetch as a stream and parses the event-stream format itself
// (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
// No polling: one long request; when it drops, it reconnects with a growing delay, resuming
// after the last record it saw (?from=last id + 1).

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;

// Feeds text chunks in, calls onEvent({id, event, data}) per complete event. Comments
// (": keep-alive") and unknown fields are ignored, as the format says.
export class EventStreamParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    this.reset();
  }

  reset() {
    this.data = [];
    this.event = '';
    this.id = null;
  }

  push(text) {
    this.buffer += text;
    let newline;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, newline);
      const width = this.buffer.startsWith('\r\n', newline) ? 2 : 1;
      this.buffer = this.buffer.slice(newline + width);
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      if (this.data.length) {
        this.onEvent({id: this.id, event: this.event || 'message', data: this.data.join('\n')});
      }
      this.reset();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') this.data.push(value);
    else if (name === 'event') this.event = value;
    else if (name === 'id') this.id = value;
  }
}

// Follows /v1/stream from `from` until stop(). onRecord(record) per record event (the parsed
// data: {seq, ledger_time, kind, deployment, actor, denied}); onState(state, detail) with
// 'connecting' | 'live' | 'retrying' | 'stopped'.
export function followStream(api, {from, onRecord, onState}) {
  const controller = new AbortController();
  let next = from;
  let delay = MIN_DELAY_MS;
  let stopped = false;

  const parser = new EventStreamParser((event) => {
    if (event.event !== 'record') return;
    let record;
    try {
      record = JSON.parse(event.data);
    } catch {
      return;  // a malformed event is skipped, not fatal: the next one may be fine
    }
    const seq = Number(event.id ?? record.seq);
    if (Number.isSafeInteger(seq) && seq >= 0) next = Math.max(next ?? 0, seq + 1);
    delay = MIN_DELAY_MS;  // data flowed: the connection is healthy again
    onRecord(record);
  });

  async function readOnce() {
    onState('connecting');
    const response = await api.get('/v1/stream', {from: next}, {
      accept: 'text/event-stream', signal: controller.signal,
    });
    onState('live');
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, {stream: true}));
    }
  }

  (async () => {
    while (!stopped) {
      try {
        await readOnce();
      } catch (e) {
        if (stopped) break;
        onState('retrying', e.message);
      }
      if (stopped) break;
      parser.buffer = '';
      parser.reset();
      onState('retrying', `reconnecting in ${Math.round(delay / 1000)}s`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
    onState('stopped');
  })();

  return {
    stop() {
      stopped = true;
      controller.abort();
    },
  };
}
