import type { FrameData, Transport, TransportLink } from './transport.ts';

/** Options for one transport on a {@link memoryBus}. */
export interface MemoryTransportOptions {
  /** The codec its peers speak (default `msgpack`). */
  format?: 'msgpack' | 'json';
}

/** An in-process bus: every transport it hands out hears the frames of every other one. */
export interface MemoryBus {
  /** A new transport on this bus. */
  transport(options?: MemoryTransportOptions): Transport;
  /** Frames carried so far (for tests and benchmarks). */
  readonly frames: number;
}

/**
 * An in-process mesh link for tests, demos and systems sharing one runtime. Frames are delivered on a
 * later task, copied, as over a real network: no sender ever sees its receiver's objects.
 */
export function memoryBus(): MemoryBus {
  const members = new Set<Member>();
  let frames = 0;
  return {
    get frames() {
      return frames;
    },
    transport(options = {}) {
      const member: Member = { link: undefined, inbox: [], scheduled: false };
      return {
        name: 'memory',
        reach: 'bus',
        format: options.format ?? 'msgpack',
        open(link) {
          member.link = link;
          members.add(member);
          link.status('open');
        },
        send(data: FrameData) {
          if (member.link === undefined) return;
          frames++;
          for (const other of members) if (other !== member) deliverLater(other, typeof data === 'string' ? data : data.slice());
        },
        close() {
          if (!member.link) return;
          members.delete(member);
          member.inbox.length = 0;
          const link = member.link;
          member.link = undefined;
          link.status('closed');
        },
      };
    },
  };
}

interface Member {
  link: TransportLink | undefined;
  inbox: FrameData[];
  scheduled: boolean;
}

// One timer per burst, not per frame; frames keep their order.
function deliverLater(member: Member, data: FrameData): void {
  member.inbox.push(data);
  if (member.scheduled) return;
  member.scheduled = true;
  setTimeout(() => {
    member.scheduled = false;
    const inbox = member.inbox.splice(0);
    for (const frame of inbox) member.link?.receive(frame);
  }, 0);
}
