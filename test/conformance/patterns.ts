import { compilePattern, createHappen, domain, exact, not, oneOf, type Pattern } from '../../src/index.ts';
import { deepEqual, equal, isHappenError, throws } from './assert.ts';
import { describe, test } from './harness.ts';

const types = ['order', 'order.created', 'order.item.added', 'payment.created', 'user.profile.updated', 'orders.created', 'x'];

function matching(pattern: Pattern): string[] {
  const matcher = compilePattern(pattern);
  return types.filter(matcher);
}

describe('patterns', () => {
  test('an exact string matches only itself', () => {
    deepEqual(matching('order.created'), ['order.created']);
  });

  test('* matches exactly one segment', () => {
    deepEqual(matching('order.*'), ['order.created']);
    deepEqual(matching('*.created'), ['order.created', 'payment.created', 'orders.created']);
    deepEqual(matching('*'), ['order', 'x']);
  });

  test('** matches any depth, including none', () => {
    deepEqual(matching('order.**'), ['order', 'order.created', 'order.item.added']);
    deepEqual(matching('**.created'), ['order.created', 'payment.created', 'orders.created']);
    deepEqual(matching('user.**.updated'), ['user.profile.updated']);
    deepEqual(matching('**'), types);
  });

  test('{a,b} alternatives, also combined with wildcards', () => {
    deepEqual(matching('{order,payment}.created'), ['order.created', 'payment.created']);
    deepEqual(matching('{order,user}.**'), ['order', 'order.created', 'order.item.added', 'user.profile.updated']);
    deepEqual(matching('{order.item.added,x}'), ['order.item.added', 'x']);
  });

  test('a partial * stays inside its segment', () => {
    deepEqual(matching('order*.created'), ['order.created', 'orders.created']);
  });

  test('regex characters in a pattern are literal', () => {
    const matcher = compilePattern('a+b.*');
    equal(matcher('a+b.c'), true);
    equal(matcher('aab.c'), false);
  });

  test('predicates and helpers', () => {
    deepEqual(matching((t) => t.length === 1), ['x']);
    deepEqual(matching(domain('order')), ['order', 'order.created', 'order.item.added']);
    deepEqual(matching(exact('order.*')), []);
    deepEqual(matching(oneOf('x', 'payment.*')), ['payment.created', 'x']);
    deepEqual(matching(not('**.created')), ['order', 'order.item.added', 'user.profile.updated', 'x']);
  });

  test('bad patterns are validation errors', () => {
    isHappenError(throws(() => compilePattern('{a,b')), 'validation', 'INVALID_PATTERN');
    isHappenError(throws(() => compilePattern('a}')), 'validation', 'INVALID_PATTERN');
    isHappenError(throws(() => compilePattern('')), 'validation', 'INVALID_PATTERN');
    const node = createHappen().createNode('n');
    isHappenError(throws(() => node.on(42 as unknown as string, () => {})), 'validation', 'INVALID_PATTERN');
  });

  test('a compiled pattern is reused', () => {
    equal(compilePattern('order.**'), compilePattern('order.**'));
  });

  test('handlers receive only the types their pattern matches', async () => {
    const happen = createHappen();
    const node = happen.createNode('n');
    const seen: string[] = [];
    node.on('order.*', (e) => void seen.push(`one:${e.type}`));
    node.on('order.**', (e) => void seen.push(`any:${e.type}`));
    for (const type of ['order.created', 'order.item.added', 'payment.created']) node.broadcast({ type });
    await happen.settled();
    deepEqual(seen, ['one:order.created', 'any:order.created', 'any:order.item.added']);
  });
});
