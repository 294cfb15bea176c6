import { createHappen, createNode, defaultHappen } from '../../src/index.ts';
import { equal, deepEqual, isHappenError, ok, throws } from './assert.ts';
import { describe, test } from './harness.ts';

describe('nodes', () => {
  test('createNode registers a node under its id', () => {
    const happen = createHappen();
    const node = happen.createNode('orders');
    equal(node.id, 'orders');
    equal(happen.getNode('orders'), node);
    deepEqual(happen.nodes(), ['orders']);
  });

  test('a duplicate id in one system is a runtime DUPLICATE_NODE error', () => {
    const happen = createHappen();
    happen.createNode('a');
    isHappenError(throws(() => happen.createNode('a')), 'runtime', 'DUPLICATE_NODE');
  });

  test('the same id may exist in two systems', () => {
    createHappen().createNode('same');
    equal(createHappen().createNode('same').id, 'same');
  });

  test('invalid node ids are validation errors', () => {
    const happen = createHappen();
    for (const bad of ['', 'has space', 'x'.repeat(129), 42 as unknown as string]) {
      isHappenError(throws(() => happen.createNode(bad)), 'validation', 'INVALID_NODE_ID');
    }
  });

  test('destroy removes the node and frees its id', () => {
    const happen = createHappen();
    happen.createNode('temp').destroy();
    equal(happen.getNode('temp'), undefined);
    ok(happen.createNode('temp'));
  });

  test('the bare createNode export uses the default system', () => {
    const id = `default-${Math.random().toString(36).slice(2)}`;
    const node = createNode(id);
    equal(defaultHappen().getNode(id), node);
    node.destroy();
  });

  test('initial state comes from config and defaults to {}', () => {
    const happen = createHappen();
    deepEqual(happen.createNode('a').state.get(), {});
    deepEqual(happen.createNode('b', { state: { n: 1 } }).state.get(), { n: 1 });
  });

  test('invalid config is a validation error', () => {
    isHappenError(throws(() => createHappen({ causalWebCapacity: 0 })), 'validation', 'INVALID_CONFIG');
    isHappenError(throws(() => createHappen({ timeout: -1 })), 'validation', 'INVALID_CONFIG');
  });
});
