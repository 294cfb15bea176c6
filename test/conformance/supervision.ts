/**
 * Supervision (happen/resilience): the OTP matrix (three strategies × three restart types, crash and
 * normal exit), restart intensity on an injected clock, escalation through nested supervisors,
 * persisted state across a restart, ordered start and reverse stop, crashes during a restart, bad config.
 * Children record their start and stop calls in `log`, so each test asserts exactly what restarted, in what order.
 */
import { createHappen, defaultHappen, HappenError, type Happen, type HappenEvent } from '../../src/index.ts';
import { createSupervisor, type ChildRestart, type ChildSpec, type NodeChildSpec, type SupervisorConfig, type SupervisorStrategy } from '../../src/resilience/index.ts';
import { memoryStorage } from '../../src/storage/index.ts';
import { deepEqual, equal, isHappenError, ok, rejects, throws } from './assert.ts';
import { describe, test } from './harness.ts';

interface World {
  happen: Happen;
  log: string[];
  events: HappenEvent[];
  /** A node child that logs its start and stop and answers `boom` (throws), `ping` and `fail` (a validation error). */
  child(id: string, restart?: ChildRestart, extra?: Partial<NodeChildSpec>): NodeChildSpec;
  /** Sends `boom` to a child and checks the sender still gets the handler's error. */
  boom(id: string): Promise<void>;
  /** The supervisor events seen so far, as `type supervisor/child`. */
  seen(): string[];
}

function world(): World {
  const happen = createHappen();
  const log: string[] = [];
  const events: HappenEvent[] = [];
  happen.createNode('watcher').on('supervisor.**', (e) => void events.push(e));
  const caller = happen.createNode('caller');
  return {
    happen,
    log,
    events,
    child: (id, restart = 'permanent', extra = {}) => ({
      id,
      restart,
      start: (h) => {
        log.push(`start ${id}`);
        const node = h.createNode(id);
        node.on('boom', () => {
          throw new Error(`${id} blew up`);
        });
        node.on('ping', () => 'pong');
        node.on('fail', () => {
          throw new HappenError('validation', 'BAD_INPUT', 'not my fault');
        });
        return node;
      },
      stop: () => void log.push(`stop ${id}`),
      ...extra,
    }),
    boom: async (id) => {
      const error = await rejects(caller.send(id, { type: 'boom' }).return());
      isHappenError(error, 'runtime', 'HANDLER_ERROR');
    },
    seen: () => events.map((e) => `${e.type} ${(e.payload as { supervisor: string }).supervisor}/${(e.payload as { child: string }).child}`),
  };
}

/** Waits for the supervisor's work and the delivery of its events. */
async function settle(w: World, sup: { settled(): Promise<void> }): Promise<void> {
  await sup.settled();
  await w.happen.settled();
}

const statuses = (sup: { children(): Array<{ id: string; status: string; restarts: number }> }) => sup.children().map((c) => `${c.id}:${c.status}:${c.restarts}`);

describe('supervision', () => {
  describe('the OTP matrix', () => {
    const strategies: SupervisorStrategy[] = ['one-for-one', 'one-for-all', 'rest-for-one'];
    const types: ChildRestart[] = ['permanent', 'transient', 'temporary'];
    const restartedBy: Record<SupervisorStrategy, { log: string[]; restarted: string[] }> = {
      'one-for-one': { log: ['stop b', 'start b'], restarted: ['b'] },
      'one-for-all': { log: ['stop c', 'stop b', 'stop a', 'start a', 'start b', 'start c'], restarted: ['a', 'b', 'c'] },
      'rest-for-one': { log: ['stop c', 'stop b', 'start b', 'start c'], restarted: ['b', 'c'] },
    };
    for (const strategy of strategies) {
      for (const type of types) {
        for (const exit of ['crash', 'normal exit'] as const) {
          test(`${strategy}: a ${type} child's ${exit}`, async () => {
            const w = world();
            const sup = createSupervisor({ id: 'sup', happen: w.happen, strategy, children: [w.child('a'), w.child('b', type), w.child('c')] });
            await sup.start();
            const before = sup.children().map((c) => c.node);
            w.log.length = 0;
            if (exit === 'crash') await w.boom('b');
            else before[1]!.destroy();
            await settle(w, sup);

            const restarts = type === 'permanent' || (type === 'transient' && exit === 'crash');
            const expected = restarts ? restartedBy[strategy] : { log: ['stop b'], restarted: [] };
            deepEqual(w.log, expected.log, 'the stops and starts');
            const ids = type === 'temporary' ? ['a', 'c'] : ['a', 'b', 'c'];
            deepEqual(
              statuses(sup),
              ids.map((id) => `${id}:${id === 'b' && !restarts ? 'stopped' : 'running'}:${expected.restarted.includes(id) ? 1 : 0}`),
            );
            for (const info of sup.children()) {
              const old = before[['a', 'b', 'c'].indexOf(info.id)];
              if (info.status === 'running') equal(w.happen.getNode(info.id), info.node, `${info.id} is registered`);
              equal(info.node === old, !expected.restarted.includes(info.id) && info.status === 'running', `${info.id}'s node is ${expected.restarted.includes(info.id) ? 'new' : 'the same'}`);
            }
            if (!restarts) equal(w.happen.getNode('b'), undefined, 'b is gone');
            const kind = exit === 'crash' ? 'supervisor.child.crashed sup/b' : 'supervisor.child.exited sup/b';
            deepEqual(w.seen(), [kind, ...expected.restarted.map((id) => `supervisor.child.restarted sup/${id}`)]);
            equal(sup.status, 'running');
          });
        }
      }
    }

    test('one-for-all: a temporary sibling taken down is not restarted, a transient one is', async () => {
      const w = world();
      const sup = createSupervisor({ id: 'sup', happen: w.happen, strategy: 'one-for-all', children: [w.child('a'), w.child('t', 'temporary'), w.child('r', 'transient')] });
      await sup.start();
      w.log.length = 0;
      await w.boom('a');
      await settle(w, sup);
      deepEqual(w.log, ['stop r', 'stop t', 'stop a', 'start a', 'start r']);
      deepEqual(statuses(sup), ['a:running:1', 'r:running:1']);
      equal(w.happen.getNode('t'), undefined);
    });

    test('rest-for-one: only the children after the crashed one restart; a stopped child stays stopped', async () => {
      const w = world();
      const sup = createSupervisor({ id: 'sup', happen: w.happen, strategy: 'rest-for-one', children: [w.child('a'), w.child('b'), w.child('c'), w.child('d')] });
      await sup.start();
      await sup.stopChild('c');
      w.log.length = 0;
      await w.boom('b');
      await settle(w, sup);
      deepEqual(w.log, ['stop d', 'stop b', 'start b', 'start d']);
      deepEqual(statuses(sup), ['a:running:0', 'b:running:1', 'c:stopped:0', 'd:running:1']);
    });

    test('two children crashing at once under one-for-all cause one restart', async () => {
      const w = world();
      const sup = createSupervisor({ id: 'sup', happen: w.happen, strategy: 'one-for-all', maxRestarts: 1, children: [w.child('a'), w.child('b')] });
      await sup.start();
      w.log.length = 0;
      await Promise.all([w.boom('a'), w.boom('b')]);
      await settle(w, sup);
      deepEqual(w.log, ['stop b', 'stop a', 'start a', 'start b']);
      deepEqual(statuses(sup), ['a:running:1', 'b:running:1']);
      equal(sup.status, 'running', 'the stale second crash was not counted');
    });
  });

  describe('what counts as a crash', () => {
    test('validation errors do not count by default; crashOn chooses', async () => {
      const w = world();
      const fatalOnly = (e: HappenError) => e.code === 'FATAL';
      const picky = w.child('picky', 'permanent', {
        crashOn: fatalOnly,
        start: (h) => {
          w.log.push('start picky');
          const node = h.createNode('picky');
          node.on('boom', () => {
            throw new Error('ordinary');
          });
          node.on('fatal', () => Promise.reject(new HappenError('runtime', 'FATAL', 'fatal')));
          return node;
        },
      });
      const sup = createSupervisor({ id: 'sup', happen: w.happen, strategy: 'one-for-one', children: [w.child('a'), picky] });
      await sup.start();
      w.log.length = 0;
      const caller = w.happen.getNode('caller')!;
      isHappenError(await rejects(caller.send('a', { type: 'fail' }).return()), 'validation', 'BAD_INPUT');
      await w.boom('picky');
      await settle(w, sup);
      deepEqual(w.log, [], 'no restart');
      isHappenError(await rejects(caller.send('picky', { type: 'fatal' }).return()), 'runtime', 'FATAL');
      await settle(w, sup);
      deepEqual(w.log, ['stop picky', 'start picky'], 'an async rejection the filter accepts is a crash');
      equal(await caller.send('a', { type: 'ping' }).return(), 'pong');
    });

    test('crash() crashes a child; the events carry the reason and follow the causal chain of the failing event', async () => {
      const w = world();
      const sup = createSupervisor({ id: 'sup', happen: w.happen, strategy: 'one-for-one', children: [w.child('a')] });
      await sup.start();
      await sup.crash('a', new HappenError('runtime', 'WEDGED', 'stuck'));
      await w.happen.settled();
      deepEqual(w.events.map((e) => [e.type, (e.payload as any).reason.code, (e.payload as any).strategy]), [
        ['supervisor.child.crashed', 'WEDGED', 'one-for-one'],
        ['supervisor.child.restarted', 'WEDGED', 'one-for-one'],
      ]);
      equal(w.events[1]!.context.causal.causationId, w.events[0]!.id, 'restarted is caused by crashed');

      w.events.length = 0;
      const sent = w.happen.getNode('caller')!.send('a', { type: 'boom' });
      await rejects(sent.return());
      await settle(w, sup);
      const correlation = sent.event.context.causal.correlationId;
      const chain = w.happen.events().filter((e) => e.context.causal.correlationId === correlation && e.type.startsWith('supervisor.'));
      deepEqual(chain.map((e) => e.type), ['supervisor.child.crashed', 'supervisor.child.restarted']);
      equal(chain[0]!.context.causal.causationId, sent.event.id, 'crashed is caused by the event whose handler threw');
      equal(chain[0]!.context.causal.sender, w.happen.id, 'reported by the system');
    });

    test('stopChild stops for good, restartChild brings it back; both report bad calls', async () => {
      const w = world();
      const sup = createSupervisor({ id: 'sup', happen: w.happen, strategy: 'one-for-all', children: [w.child('a'), w.child('b')] });
      isHappenError(await rejects(sup.crash('a')), 'validation', 'NO_SUCH_CHILD');
      await sup.start();
      w.log.length = 0;
      await sup.stopChild('b');
      isHappenError(await rejects(sup.crash('b')), 'runtime', 'CHILD_NOT_RUNNING');
      await sup.crash('a');
      deepEqual(w.log, ['stop b', 'stop a', 'start a'], 'the stopped child is not part of the restart');
      await sup.restartChild('b');
      deepEqual(statuses(sup), ['a:running:1', 'b:running:0']);
      isHappenError(await rejects(sup.restartChild('b')), 'runtime', 'CHILD_RUNNING');
      isHappenError(await rejects(sup.stopChild('zzz')), 'validation', 'NO_SUCH_CHILD');
      await sup.stop();
      isHappenError(await rejects(sup.crash('a')), 'runtime', 'SUPERVISOR_NOT_RUNNING');
    });

    test('a stop callback that throws is reported and the node is still destroyed', async () => {
      const w = world();
      const sup = createSupervisor({
        id: 'sup',
        happen: w.happen,
        strategy: 'one-for-one',
        children: [w.child('a', 'permanent', { stop: () => Promise.reject(new Error('cleanup failed')) })],
      });
      await sup.start();
      await sup.stop();
      await w.happen.settled();
      equal(w.happen.getNode('a'), undefined);
      deepEqual(w.seen(), ['supervisor.child.stop-failed sup/a']);
      equal((w.events[0]!.payload as any).reason.message, 'cleanup failed');
    });
  });

  describe('restart intensity', () => {
    test('more than maxRestarts within restartWindow: the supervisor gives up and stops everything in reverse', async () => {
      const w = world();
      let now = 0;
      const sup = createSupervisor({
        id: 'sup', happen: w.happen, strategy: 'one-for-one', maxRestarts: 2, restartWindow: 1_000, now: () => now,
        children: [w.child('a'), w.child('b'), w.child('c')],
      });
      await sup.start();
      await w.boom('b');
      await settle(w, sup);
      now = 600;
      await w.boom('b');
      await settle(w, sup);
      now = 1_100; // the first restart has left the window: two in it, still allowed
      await w.boom('b');
      await settle(w, sup);
      equal(sup.status, 'running');
      deepEqual(statuses(sup), ['a:running:0', 'b:running:3', 'c:running:0']);
      w.log.length = 0;
      w.events.length = 0;
      now = 1_200;
      await w.boom('b');
      await settle(w, sup);
      equal(sup.status, 'failed');
      deepEqual(w.log, ['stop c', 'stop b', 'stop a']);
      deepEqual(statuses(sup), ['a:stopped:0', 'b:failed:3', 'c:stopped:0']);
      deepEqual(w.seen(), ['supervisor.child.crashed sup/b', 'supervisor.failed sup/b'], 'no escalation without a parent');
      deepEqual(w.happen.nodes().sort(), ['caller', 'watcher']);
      await sup.stop(); // a failed supervisor has nothing left to stop
      equal(sup.status, 'failed');
      await sup.start();
      equal(sup.status, 'running', 'a failed supervisor can be started again');
      deepEqual(statuses(sup), ['a:running:0', 'b:running:0', 'c:running:0']);
    });

    test('maxRestarts 0: the first crash fails it; a normal exit of a transient child does not count', async () => {
      const w = world();
      const sup = createSupervisor({ id: 'sup', happen: w.happen, strategy: 'one-for-all', maxRestarts: 0, now: () => 0, children: [w.child('a', 'transient'), w.child('b')] });
      await sup.start();
      sup.children()[0]!.node!.destroy();
      await settle(w, sup);
      equal(sup.status, 'running');
      await w.boom('b');
      await settle(w, sup);
      equal(sup.status, 'failed');
    });
  });

  describe('nesting and escalation', () => {
    const nested = (w: World, now: () => number): SupervisorConfig => ({
      id: 'top', happen: w.happen, strategy: 'rest-for-one', maxRestarts: 1, restartWindow: 1_000, now,
      children: [
        w.child('x'),
        { id: 'inner', supervisor: { strategy: 'one-for-all', maxRestarts: 1, children: [w.child('y'), w.child('z')] } },
        w.child('w'),
      ],
    });

    test('a child supervisor that gives up escalates; the parent restarts it by its own strategy', async () => {
      const w = world();
      let now = 0;
      const top = createSupervisor(nested(w, () => now));
      await top.start();
      deepEqual(w.log, ['start x', 'start y', 'start z', 'start w']);
      const inner = top.children()[1]!.supervisor!;
      equal(inner.id, 'inner');
      w.log.length = 0;
      await w.boom('y');
      await settle(w, top);
      deepEqual(w.log, ['stop z', 'stop y', 'start y', 'start z'], 'the inner one-for-all restart');
      w.log.length = 0;
      w.events.length = 0;
      now = 10;
      await w.boom('z');
      await settle(w, top);
      deepEqual(w.log, ['stop z', 'stop y', 'stop w', 'start y', 'start z', 'start w'], 'inner gave up; top restarted it and the rest');
      deepEqual(w.seen(), [
        'supervisor.child.crashed inner/z',
        'supervisor.failed inner/z',
        'supervisor.escalated inner/z',
        'supervisor.child.crashed top/inner',
        'supervisor.child.restarted top/inner',
        'supervisor.child.restarted top/w',
      ]);
      equal((w.events[3]!.payload as any).reason.code, 'SUPERVISOR_FAILED');
      equal(w.events[3]!.context.causal.causationId, w.events[2]!.id, 'the parent crash is caused by the escalation');
      equal(inner.status, 'failed');
      const again = top.children()[1]!.supervisor!;
      ok(again !== inner, 'a fresh child supervisor');
      deepEqual(statuses(again), ['y:running:0', 'z:running:0']);
      deepEqual(statuses(top), ['x:running:0', 'inner:running:1', 'w:running:1']);
    });

    test('escalation climbs: a parent past its own intensity fails too', async () => {
      const w = world();
      let now = 0;
      const top = createSupervisor({ ...nested(w, () => now), maxRestarts: 0 });
      await top.start();
      w.log.length = 0;
      await w.boom('y');
      await settle(w, top);
      await w.boom('y');
      await settle(w, top);
      equal(top.status, 'failed');
      deepEqual(w.log, ['stop z', 'stop y', 'start y', 'start z', 'stop z', 'stop y', 'stop w', 'stop x']);
      deepEqual(statuses(top), ['x:stopped:0', 'inner:failed:0', 'w:stopped:0']);
    });

    test('a nested supervisor stopped by someone else is its normal exit', async () => {
      const w = world();
      const top = createSupervisor({
        id: 'top', happen: w.happen, strategy: 'one-for-one',
        children: [{ id: 'inner', restart: 'transient', supervisor: { strategy: 'one-for-one', children: [w.child('y')] } }],
      });
      await top.start();
      await top.children()[0]!.supervisor!.stop();
      await settle(w, top);
      deepEqual(statuses(top), ['inner:stopped:0']);
      deepEqual(w.seen(), ['supervisor.child.exited top/inner']);
    });
  });

  describe('lifecycle', () => {
    test('children start one after another, each awaited; stop goes in reverse', async () => {
      const w = world();
      const slow = (id: string): ChildSpec => w.child(id, 'permanent', {
        start: async (h) => {
          w.log.push(`begin ${id}`);
          await new Promise((resolve) => setTimeout(resolve, 1));
          w.log.push(`start ${id}`);
          return h.createNode(id);
        },
      });
      const sup = createSupervisor({ id: 'sup', happen: w.happen, strategy: 'one-for-one', children: [slow('a'), slow('b'), slow('c')] });
      equal(sup.status, 'idle');
      const started = sup.start();
      equal(sup.status, 'starting');
      await started;
      deepEqual(w.log, ['begin a', 'start a', 'begin b', 'start b', 'begin c', 'start c']);
      deepEqual(statuses(sup), ['a:running:0', 'b:running:0', 'c:running:0']);
      isHappenError(await rejects(sup.start()), 'runtime', 'SUPERVISOR_RUNNING');
      w.log.length = 0;
      await sup.stop();
      deepEqual(w.log, ['stop c', 'stop b', 'stop a']);
      equal(sup.status, 'stopped');
      deepEqual(statuses(sup), ['a:stopped:0', 'b:stopped:0', 'c:stopped:0']);
      deepEqual(w.happen.nodes().sort(), ['caller', 'watcher']);
    });

    test('without happen, children live in the default system', async () => {
      let given: Happen | undefined;
      const id = `supervised-${Math.random().toString(36).slice(2)}`;
      const sup = createSupervisor({ id: 'sup', strategy: 'one-for-one', children: [{ id, start: (h) => ((given = h), h.createNode(id)) }] });
      await sup.start();
      equal(given, defaultHappen());
      equal(defaultHappen().getNode(id), sup.children()[0]!.node);
      await sup.stop();
      equal(defaultHappen().getNode(id), undefined);
    });

    test('a restarted child gets its persisted state back', async () => {
      const w = world();
      const storage = memoryStorage();
      const sup = createSupervisor({
        id: 'sup', happen: w.happen, strategy: 'one-for-one',
        children: [{
          id: 'counter',
          start: (h) => {
            const node = h.createNode('counter', { state: { count: 0 }, storage });
            node.on('add', () => void node.state.set((s) => ({ count: s.count + 1 })));
            node.on('boom', () => {
              throw new Error('boom');
            });
            return node;
          },
        }],
      });
      await sup.start();
      const caller = w.happen.getNode('caller')!;
      for (let i = 0; i < 3; i++) await caller.send('counter', { type: 'add' }).return();
      const first = sup.children()[0]!.node!;
      await w.boom('counter');
      await settle(w, sup);
      const second = sup.children()[0]!.node!;
      ok(second !== first, 'a new node');
      deepEqual(second.state.get(), { count: 3 }, 'restored before start() of the child was done');
      await caller.send('counter', { type: 'add' }).return();
      deepEqual(second.state.get(), { count: 4 });
    });

    test('a crash during a restart is handled after it; meanwhile sends to the restarting child fail with NO_SUCH_NODE', async () => {
      const w = world();
      let release = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      let starts = 0;
      const gated = w.child('b', 'permanent', {
        start: async (h) => {
          w.log.push('start b');
          if (++starts === 2) await gate;
          return h.createNode('b');
        },
      });
      const sup = createSupervisor({ id: 'sup', happen: w.happen, strategy: 'one-for-one', children: [w.child('a'), gated] });
      await sup.start();
      w.log.length = 0;
      const first = sup.crash('b');
      await new Promise((resolve) => setTimeout(resolve, 5));
      deepEqual(statuses(sup), ['a:running:0', 'b:restarting:0']);
      const caller = w.happen.getNode('caller')!;
      isHappenError(await rejects(caller.send('b', { type: 'ping' }).return()), 'runtime', 'NO_SUCH_NODE');
      await w.boom('a');
      const second = sup.crash('b');
      deepEqual(w.log, ['stop b', 'start b'], 'nothing else happens while b is starting');
      release();
      await Promise.all([first, second]);
      await settle(w, sup);
      deepEqual(w.log, ['stop b', 'start b', 'stop a', 'start a', 'stop b', 'start b']);
      deepEqual(statuses(sup), ['a:running:1', 'b:running:2']);
    });

    test('a setup that fails during a restart is retried as that child\'s crash, with the rest of its group', async () => {
      const w = world();
      let bStarts = 0;
      const flaky = w.child('b', 'permanent', {
        start: (h) => {
          w.log.push('start b');
          if (++bStarts === 2) throw new Error('not yet');
          return h.createNode('b');
        },
      });
      let now = 0;
      const sup = createSupervisor({ id: 'sup', happen: w.happen, strategy: 'rest-for-one', maxRestarts: 2, now: () => now, children: [w.child('a'), flaky, w.child('c')] });
      await sup.start();
      w.log.length = 0;
      await w.boom('a');
      await settle(w, sup);
      deepEqual(w.log, ['stop c', 'stop b', 'stop a', 'start a', 'start b', 'start b', 'start c']);
      deepEqual(statuses(sup), ['a:running:1', 'b:running:1', 'c:running:1']);
      deepEqual(w.seen(), [
        'supervisor.child.crashed sup/a',
        'supervisor.child.restarted sup/a',
        'supervisor.child.crashed sup/b',
        'supervisor.child.restarted sup/b',
        'supervisor.child.restarted sup/c',
      ]);
      equal((w.events[2]!.payload as any).reason.message, 'not yet');
    });

    test('a setup that fails at start: start() rejects, the children already started are stopped in reverse', async () => {
      const w = world();
      const broken = w.child('c', 'permanent', { start: () => ({ not: 'a node' }) as never });
      const sup = createSupervisor({ id: 'sup', happen: w.happen, strategy: 'one-for-one', children: [w.child('a'), w.child('b'), broken] });
      const error = await rejects(sup.start());
      isHappenError(error, 'runtime', 'CHILD_START_FAILED');
      equal(error.details.reason.code, 'INVALID_CHILD');
      equal(sup.status, 'failed');
      deepEqual(w.log, ['start a', 'start b', 'stop b', 'stop a']);
      deepEqual(statuses(sup), ['a:stopped:0', 'b:stopped:0', 'c:failed:0']);
    });
  });

  test('bad config fails at once with INVALID_CONFIG', () => {
    const happen = createHappen();
    const child = { id: 'a', start: (h: Happen) => h.createNode('a') };
    const base = { id: 'sup', happen, strategy: 'one-for-one' as const, children: [child] };
    const bad: unknown[] = [
      undefined,
      { ...base, id: '' },
      { ...base, strategy: 'one-for-some' },
      { ...base, maxRestarts: -1 },
      { ...base, maxRestarts: 1.5 },
      { ...base, restartWindow: 0 },
      { ...base, restartWindow: Infinity },
      { ...base, now: 5 },
      { ...base, children: 'a' },
      { ...base, children: [{ id: 'a' }] },
      { ...base, children: [child, { ...child }] },
      { ...base, children: [{ ...child, restart: 'sometimes' }] },
      { ...base, children: [{ ...child, stop: 'later' }] },
      { ...base, children: [{ ...child, crashOn: true }] },
      { ...base, children: [{ ...child, supervisor: { strategy: 'one-for-one', children: [] } }] },
      { ...base, children: [{ id: 'inner', supervisor: { strategy: 'one-for-one', children: [{ id: 'deep', restart: 'never', start: child.start }] } }] },
      { ...base, happen: {} },
    ];
    for (const config of bad) {
      const error = throws(() => createSupervisor(config as SupervisorConfig), `rejects ${JSON.stringify(config)}`);
      isHappenError(error, 'validation', 'INVALID_CONFIG');
    }
    ok(/children\[0\]\.supervisor: children\[0\]: restart/.test(throws(() => createSupervisor(bad[15] as SupervisorConfig)).message), 'names the deep field');
  });
});
