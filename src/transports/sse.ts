/** A minimal Server-Sent Events parser: enough for the hub's stream (`data:` lines, comments, blank-line dispatch). */

/** Feeds text chunks in, calls `onData` with each complete event's data. */
export function sseParser(onData: (data: string) => void): (chunk: string) => void {
  let pending = '';
  let data: string[] = [];
  return (chunk) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.search(/\r\n|\r|\n/)) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + (pending.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (data.length > 0) onData(data.join('\n'));
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
      // Comments (`:`) are keep-alives; `event:`, `id:` and `retry:` are not used by the hub.
    }
  };
}
