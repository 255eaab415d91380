// How times, durations and counts read on the page. Ledger times are shown in UTC as the ledger
// writes them (RFC 3339), so a reviewer can match them against the CLI and the signed records.

// "2026-11-24T18:15:00.123456Z" -> "2026-11-24 18:15:00Z" (sub-seconds dropped for reading).
export function formatTime(text) {
  if (typeof text !== 'string') return '';
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  return match ? `${match[1]} ${match[2]}${match[3]}` : text;
}

// Milliseconds since the epoch of an RFC 3339 time; NaN when it is not one.
export function timeMs(text) {
  return typeof text === 'string' ? Date.parse(text) : NaN;
}

// Seconds as people say them: "45s", "15m", "1h 30m", "2d 3h".
export function formatDuration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '';
  if (seconds < 1) return seconds <= 0 ? '0s' : `${Math.round(seconds * 1000)}ms`;
  let rest = Math.round(seconds);
  const parts = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.slice(0, 2).join(' ');
}

export function formatPercent(rate) {
  if (typeof rate !== 'number' || !Number.isFinite(rate)) return 'n/a';
  return `${(rate * 100).toFixed(1)}%`;
}

export function formatNumber(value, digits = 2) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'n/a';
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

// A string for display whatever the API sent (a number, null, an object): never throws.
export function asText(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

// A datetime-local input's value ("2026-11-24T18:00") as RFC 3339 UTC, or '' when empty.
export function inputToRfc3339(value) {
  if (!value) return '';
  return /Z$|[+-]\d{2}:\d{2}$/.test(value) ? value : `${value.length === 16 ? `${value}:00` : value}Z`;
}

// A filter form's inputs (name -> element) as route parameters: times as RFC 3339 UTC, text
// trimmed, empty ones left out.
export function filterParams(inputs) {
  const params = {};
  for (const [name, input] of Object.entries(inputs)) {
    const value = name === 'since' || name === 'until' ? inputToRfc3339(input.value) : input.value.trim();
    if (value) params[name] = value;
  }
  return params;
}

// The reverse, for filling the inputs from a URL: "2026-11-24T18:00:00Z" -> "2026-11-24T18:00".
export function rfc3339ToInput(value) {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})/.exec(value || '');
  return match ? match[1] : '';
}
