import type { HappenError } from '../core/errors.ts';
import { postCloned } from './clone-post.ts';
import type { FrameMessage, Transport, TransportFormat, TransportLink } from './transport.ts';

/** Options for one transport on a {@link memoryBus}. */
export interface MemoryTransportOptions {
  /** How the mesh hands it frames (default `msgpack`; `clone` carries them as values, copied as BroadcastChannel copies them). */
  format?: TransportFormat;
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
      // A copy that fails fails at the first receiver, before anyone got one.
      const post = (message: FrameMessage) => {
        for (const other of members) if (other !== member) deliverLater(other, copy(message));
      };
      const report = (error: HappenError) => member.link?.error(error);
      return {
        name: 'memory',
        reach: 'bus',
        format: options.format ?? 'msgpack',
        open(link) {
          member.link = link;
          members.add(member);
          link.status('open');
        },
        send(data: FrameMessage) {
          if (member.link === undefined) return;
          frames++;
          postCloned(data, post, report);
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
  inbox: FrameMessage[];
  scheduled: boolean;
}

// What a network would hand over: text as it is, bytes of the view alone, values by structured clone.
function copy(message: FrameMessage): FrameMessage {
  return typeof message === 'string' ? message : message instanceof Uint8Array ? message.slice() : structuredClone(message);
}

// One timer per burst, not per frame; frames keep their order.
function deliverLater(member: Member, data: FrameMessage): void {
  member.inbox.push(data);
  if (member.scheduled) return;
  member.scheduled = true;
  setTimeout(() => {
    member.scheduled = false;
    const inbox = member.inbox.splice(0);
    for (const frame of inbox) member.link?.receive(frame);
  }, 0);
}
