/**
 * Reads the JUnit XML that `deno test --junit-path` writes: one result per <testcase> that ran,
 * failed when it has a <failure> child. Deno's XML is regular (no CDATA, double-quoted attributes),
 * so a small regex reader is enough and the runner needs no XML dependency.
 */
const ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescape(text) {
  return text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, code) => {
    if (code[0] !== '#') return ENTITIES[code] ?? whole;
    return String.fromCodePoint(code[1] === 'x' || code[1] === 'X' ? parseInt(code.slice(2), 16) : parseInt(code.slice(1), 10));
  });
}

function attributes(text) {
  const attrs = {};
  for (const [, key, value] of text.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[key] = unescape(value);
  return attrs;
}

/** Tests that ran; filtered-out and ignored tests (a <skipped/> child) are left out. */
export function parseJUnit(xml) {
  const results = [];
  for (const [, attrText, body = ''] of xml.matchAll(/<testcase\b([^>]*?)(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    if (/<skipped\b/.test(body)) continue;
    const { name = '(unnamed)', time = '0' } = attributes(attrText);
    const ms = Math.round(Number.parseFloat(time) * 1000) || 0;
    const failure = /<(failure|error)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/.exec(body);
    if (!failure) {
      results.push({ name, ok: true, ms });
      continue;
    }
    // The body holds the full text (leak details, code frame, stack); the message attribute only its first line.
    const error = unescape(failure[3] ?? '').trim() || attributes(failure[2]).message || 'failed';
    results.push({ name, ok: false, ms, error });
  }
  return results;
}
