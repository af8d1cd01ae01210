import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isUserError } from '../../../../src/core/errors.ts';
import { buildFilterRules, resolveRules, toRsyncFilter } from '../../../../src/services/sync/filters.ts';

/**
 * Abuse suite: whatever patterns the config or a .dockerignore holds, each
 * becomes exactly one rsync filter rule (no newline or NUL to start a second
 * rule), or the config is refused with SYNC_PATTERN_INVALID.
 */
describe('rsync filters under hostile patterns', () => {
  const pattern = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('data/\n- *', 'x\r\n+ secret', '\0', ' ', '!keep', '**', '- evil', 'merge /etc/passwd'));
  it('one rule per pattern, or a SYNC_PATTERN_INVALID error', () => {
    fc.assert(fc.property(fc.array(pattern, { maxLength: 5 }), fc.array(pattern, { maxLength: 3 }), fc.string({ unit: 'binary', maxLength: 80 }), (exclude, includeOverrides, dockerignore) => {
      let resolved;
      try {
        resolved = resolveRules({ exclude, includeOverrides });
      } catch (error) {
        assert.ok(isUserError(error) && error.code === 'SYNC_PATTERN_INVALID', String(error));
        return;
      }
      for (const rule of buildFilterRules(resolved, dockerignore).map(toRsyncFilter)) {
        assert.doesNotMatch(rule, /[\0\n\r]/, `a rule spans lines: ${JSON.stringify(rule)}`);
        assert.match(rule, /^(P|\+|-|:-|merge) /);
      }
    }), { numRuns: 3000 });
  });
});
