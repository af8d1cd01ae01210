import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeInstallOrder, FeatureOrderError, type OrderNode } from '../../../../src/services/features/order.ts';

function node(resource: string, extra: Partial<OrderNode> = {}): OrderNode {
  return { key: resource, resource, userOptions: {}, canonical: resource, dependsOn: [], installsAfter: [], ...extra };
}
const order = (nodes: OrderNode[], override: string[] = []) => computeInstallOrder(nodes, override).order.map((n) => n.resource);

describe('feature installation order', () => {
  it('without constraints: the round stable sort (by resource)', () => {
    assert.deepEqual(order([node('c'), node('a'), node('b')]), ['a', 'b', 'c']);
  });

  it('dependsOn is a hard edge, evaluated through chains', () => {
    assert.deepEqual(order([node('a', { dependsOn: ['b'] }), node('b', { dependsOn: ['c'] }), node('c')]), ['c', 'b', 'a']);
  });

  it('installsAfter only orders features that are installed anyway', () => {
    assert.deepEqual(order([node('a', { installsAfter: ['b', 'not-installed'] }), node('b')]), ['b', 'a']);
    assert.deepEqual(order([node('a', { installsAfter: ['z'] }), node('b')]), ['a', 'b']);
    // An alias (legacyIds) answers too.
    assert.deepEqual(order([node('a', { installsAfter: ['old-b'] }), node('b', { aliases: ['old-b'] })]), ['b', 'a']);
  });

  it('overrideFeatureInstallOrder pulls features forward, but never before their dependencies', () => {
    assert.deepEqual(order([node('a'), node('b'), node('c')], ['c', 'b']), ['c', 'b', 'a']);
    // b waits for a; in that first round a and c share priority 0 and are committed together (the spec's rounds).
    assert.deepEqual(order([node('a'), node('b', { dependsOn: ['a'] }), node('c')], ['b']), ['a', 'c', 'b']);
    const result = computeInstallOrder([node('a')], ['missing']);
    assert.deepEqual(result.unmatchedOverrides, ['missing']);
  });

  it('rounds commit only the highest priority among the ready features', () => {
    // d is ready at once but has priority 0: c (priority 1) goes first, then a/b/d sorted.
    assert.deepEqual(order([node('a'), node('b'), node('c'), node('d')], ['c']), ['c', 'a', 'b', 'd']);
  });

  it('round stable sort: same resource by tag (oldest first, latest last), then more user options first', () => {
    const nodes = [
      node('x', { key: 'x-latest', tag: 'latest' }),
      node('x', { key: 'x-2', tag: '2' }),
      node('x', { key: 'x-1.10', tag: '1.10' }),
      node('x', { key: 'x-1.9', tag: '1.9' }),
    ];
    assert.deepEqual(computeInstallOrder(nodes).order.map((n) => n.key), ['x-1.9', 'x-1.10', 'x-2', 'x-latest']);
    const byOptions = [node('y', { key: 'one', userOptions: { a: '1' } }), node('y', { key: 'two', userOptions: { a: '1', b: '2' } })];
    assert.deepEqual(computeInstallOrder(byOptions).order.map((n) => n.key), ['two', 'one']);
  });

  it('a cycle is an error naming it', () => {
    assert.throws(() => computeInstallOrder([node('a', { dependsOn: ['b'] }), node('b', { installsAfter: ['a'] }), node('c')]), (error: FeatureOrderError) => {
      assert.ok(error instanceof FeatureOrderError);
      assert.match(error.message, /cycle/);
      assert.deepEqual([...error.cycle!].sort(), ['a', 'a', 'b'].sort());
      return true;
    });
    assert.throws(() => computeInstallOrder([node('a', { dependsOn: ['a'] })]), /depends on itself/);
  });
});
