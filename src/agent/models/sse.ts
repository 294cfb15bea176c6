/** Server-Sent Events from a fetch `Response` body, as the streaming chat APIs send them. */

/** One dispatched event: its `event:` name when it had one, and its data lines joined by `\n`. */
export interface SseEvent {
  event?: string;
  data: string;
}

/**
 * Yields each event of `response`'s body in order. Lines may end in LF, CRLF or CR and may be split
 * across chunks anywhere; comments (`:`) and `id:`/`retry:` fields are skipped. An event still open
 * when the body ends is dispatched rather than dropped, since some servers omit the final blank line.
 * `onChunk` is called per chunk read (a stream's sign of life).
 */
export async function* sseEvents(response: Response, onChunk?: () => void): AsyncGenerator<SseEvent> {
  if (!response.body) return;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let event: string | undefined;
  const line = (text: string): SseEvent | undefined => {
    if (text === '') {
      const out = data.length > 0 ? { ...(event !== undefined ? { event } : {}), data: data.join('\n') } : undefined;
      data = [];
      event = undefined;
      return out;
    }
    if (text.startsWith(':')) return undefined;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    return undefined;
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      onChunk?.();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        // A CR at the end of the buffer may be the first half of a CRLF split across chunks: wait.
        if (c === 13 && i === buffer.length - 1 && !done) break;
        const out = line(buffer.slice(start, i));
        if (c === 13 && buffer.charCodeAt(i + 1) === 10) i++;
        start = i + 1;
        if (out) yield out;
      }
      buffer = buffer.slice(start);
      if (done) {
        if (buffer !== '') line(buffer);
        const tail = line('');
        if (tail) yield tail;
        return;
      }
    }
  } finally {
    // The consumer may stop early (a [DONE] sentinel, an error): release the connection.
    reader.cancel().catch(() => {});
  }
}
