import { createHappen, type HappenEvent } from '../../src/index.ts';
import { security } from '../../src/security/index.ts';
import { equal, isHappenError, ok, rejects, sleep } from './assert.ts';
import { describe, test } from './harness.ts';

function foreign(type: string, target?: string): HappenEvent {
  const id = `0mjuq0e80000000${Math.floor(Math.random() * 1e8).toString().padStart(8, '0')}`;
  return { id, type, payload: {}, context: { causal: { id, sender: 'far', correlationId: id, path: ['far'], timestamp: Date.now() }, ...(target ? { target } : {}) } };
}

describe('ingest', () => {
  test('handled: a broadcast settles once every node reached has finished, async flows included', async () => {
    const happen = createHappen();
    const done: string[] = [];
    happen.createNode('a').on('job.*', () => void done.push('a'));
    happen.createNode('b').on('job.*', async () => {
      await sleep(20);
      done.push('b');
    });
    let outcome: { ok: boolean } | undefined;
    await happen.ingest(foreign('job.run'), { handled: (o) => (outcome = o) });
    equal(outcome, undefined, 'not before the handlers ran');
    await happen.settled();
    ok(outcome?.ok, 'handled once both flows settled');
    equal(done.sort().join(), 'a,b');
  });

  test('handled: a failing flow fails the outcome; other nodes still ran; no subscriber settles at once', async () => {
    const happen = createHappen();
    let ran = false;
    happen.createNode('a').on('job.run', () => {
      throw new Error('nope');
    });
    happen.createNode('b').on('job.run', () => void (ran = true));
    const outcomes: Array<{ ok: boolean; error?: unknown }> = [];
    await happen.ingest(foreign('job.run'), { handled: (o) => outcomes.push(o) });
    await happen.ingest(foreign('nobody.listens'), { handled: (o) => outcomes.push(o) });
    await happen.settled();
    equal(outcomes.length, 2);
    equal(outcomes[0]!.ok, false);
    isHappenError(outcomes[0]!.error, 'runtime', 'HANDLER_ERROR');
    equal(outcomes[1]!.ok, true);
    ok(ran, 'the other node still handled it');
  });

  test('handled: a send reports its flow result; a refused event rejects and reports nothing', async () => {
    const sec = security({ level: 'medium' });
    const guarded = createHappen({ extensions: [sec] });
    const happen = createHappen();
    happen.createNode('calc').on('add', () => 5);
    let outcome: { ok: boolean; value?: unknown } | undefined;
    await happen.ingest(foreign('add', 'calc'), { handled: (o) => (outcome = o) });
    await happen.settled();
    equal(outcome?.ok, true);
    equal(outcome?.value, 5);
    guarded.createNode('calc').on('add', () => 5);
    await sec.identityOf('calc'); // the node's identity is made in the background: let it finish inside this test
    let reported = false;
    isHappenError(await rejects(guarded.ingest(foreign('add', 'calc'), { handled: () => (reported = true) })), 'security', 'MISSING_SIGNATURE');
    await guarded.settled();
    equal(reported, false);
  });
});

describe('ingest (unheard events)', () => {
  test('handled: an error event nobody listens to is handled (nothing to do), not left pending', async () => {
    const happen = createHappen();
    happen.createNode('ui');
    let outcome: { ok: boolean } | undefined;
    await happen.ingest({ ...foreign('happen.error', 'ui'), payload: { code: 'X', category: 'runtime', message: 'm' } }, { handled: (o) => (outcome = o) });
    await happen.settled();
    equal(outcome?.ok, true);
  });
});
