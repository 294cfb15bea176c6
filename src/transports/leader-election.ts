import { createIdGenerator } from '../core/ids.ts';
import type { WebLocks } from '../platform/capabilities.ts';
import { onPageLifecycle } from '../platform/lifecycle.ts';

/** Told `true` when this context becomes the leader and `false` when it stops being one. */
export type SetLeader = (leader: boolean) => void;

/** Stops taking part in an election, giving up leadership if this context holds it. */
export type StopElection = () => void;

/**
 * Elects with a Web Lock: whoever holds `name` leads. The browser releases the lock when its holder's
 * tab or worker goes away, however it goes, so a takeover needs no timeout. `unavailable` is called if
 * the lock manager refuses the request (an opaque origin), always after this returns, so the caller
 * can fall back.
 */
export function lockElection(locks: WebLocks, name: string, setLeader: SetLeader, unavailable: (cause: unknown) => void): StopElection {
  const abort = new AbortController();
  let release: (() => void) | undefined;
  const granted = () => {
    if (abort.signal.aborted) return undefined;
    setLeader(true);
    return new Promise<void>((resolve) => (release = resolve));
  };
  const refused = (cause: unknown) => {
    if (!abort.signal.aborted) unavailable(cause);
  };
  // Through a promise so a synchronous throw is refused asynchronously too, never before this returns.
  Promise.resolve()
    .then(() => locks.request(name, { signal: abort.signal }, granted))
    .catch(refused);
  return () => {
    if (abort.signal.aborted) return;
    abort.abort(); // a request still waiting in the queue leaves it
    if (release) setLeader(false);
    release?.();
  };
}

/** A message of the channel election; it travels on its own channel so the frame channel carries frames only. */
interface Ballot {
  happen: 'election';
  kind: 'claim' | 'heartbeat' | 'resign';
  id: string;
  term: number;
}

/** Heartbeats a follower may miss before it stands for election. */
export const MISSED_HEARTBEATS = 3;

/**
 * Elects over a `BroadcastChannel`, for runtimes without Web Locks. The leader beats every
 * `heartbeatMs`; a follower that misses {@link MISSED_HEARTBEATS} beats, or hears its leader resign,
 * claims leadership and leads unless, within half a beat, it hears a live leader or a claim with a
 * lower id. Ids are time-sortable, so the longest-lived candidate wins a contested election, and a
 * live leader always outranks a newcomer's claim (no leadership churn when tabs open). Two leaders
 * (after a frozen leader wakes up) settle on the higher term, then the lower id.
 *
 * Chromium throttles timers in hidden tabs to about one a second, so keep `heartbeatMs` at or above
 * that where tabs may be hidden; Web Locks have no such limit and are preferred where they exist.
 */
export function channelElection(name: string, heartbeatMs: number, setLeader: SetLeader): StopElection {
  const id = createIdGenerator()();
  const channel = new BroadcastChannel(name);
  let role: 'follower' | 'candidate' | 'leader' = 'follower';
  let term = 0;
  let leaderId: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const post = (kind: Ballot['kind']) => {
    try {
      channel.postMessage({ happen: 'election', kind, id, term } satisfies Ballot);
    } catch {
      // A closed channel: the election is over for this context.
    }
  };
  const after = (ms: number, next: () => void) => {
    clearTimeout(timer);
    timer = setTimeout(next, ms);
  };
  const stepDown = () => {
    if (role === 'leader') setLeader(false);
  };
  const follow = (leader?: string) => {
    stepDown();
    role = 'follower';
    leaderId = leader;
    after(heartbeatMs * MISSED_HEARTBEATS, stand);
  };
  const stand = () => {
    role = 'candidate';
    post('claim');
    after(heartbeatMs / 2, lead);
  };
  const beat = () => {
    post('heartbeat');
    after(heartbeatMs, beat);
  };
  const lead = () => {
    role = 'leader';
    term += 1;
    leaderId = id;
    setLeader(true);
    beat();
  };
  const resign = () => {
    clearTimeout(timer);
    if (role === 'leader') post('resign');
    stepDown();
    role = 'follower';
  };

  channel.onmessage = ({ data }: MessageEvent) => {
    if (!isBallot(data) || data.id === id) return;
    const newer = data.term > term;
    term = Math.max(term, data.term);
    if (data.kind === 'heartbeat') {
      // A leader answers a rival it outranks, so the rival steps down at once rather than at its next beat.
      if (role === 'leader' && !newer && !(data.term === term && data.id < id)) post('heartbeat');
      else follow(data.id);
    } else if (data.kind === 'claim') {
      if (role === 'leader') post('heartbeat');
      else if (role === 'candidate' && data.id < id) follow();
    } else if (role === 'follower' && data.id === leaderId) {
      stand();
    }
  };

  // A closing tab resigns so the others need not wait out the heartbeats; one restored from the
  // back/forward cache stands again (a leader elected meanwhile answers its claim).
  const unlisten = onPageLifecycle((phase) => {
    if (stopped) return;
    if (phase === 'hide') resign();
    else stand();
  });
  stand();

  return () => {
    if (stopped) return;
    stopped = true;
    unlisten();
    resign();
    channel.close();
  };
}

function isBallot(value: unknown): value is Ballot {
  const b = value as Ballot | null;
  return typeof b === 'object' && b !== null && b.happen === 'election' && typeof b.id === 'string' && typeof b.term === 'number';
}
