import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { printableName, printableText } from '../../../src/core/terminal-text.ts';

test('a file name with a newline cannot forge a second line, and escape sequences are shown, not run', () => {
  assert.equal(printableName('ok.txt\n- train.py'), 'ok.txt\\n- train.py');
  assert.equal(printableName('\u001b[31mred'), '\\x1b[31mred');
  assert.equal(printableName('a\\nb'), 'a\\\\nb', 'a literal backslash-n stays distinguishable from a newline');
  assert.equal(printableName('caf\u00e9 ü.txt'), 'caf\u00e9 ü.txt', 'printable Unicode is kept');
  assert.equal(printableName('\u009b31m'), '\\x9b31m', 'the 8-bit CSI too');
});

test('free text keeps its lines but loses its control characters', () => {
  assert.equal(printableText('one\ntwo\tthree\u001b]0;title\u0007'), 'one\ntwo\tthree\\x1b]0;title\\x07');
});

test('property: a printable name never holds a control character or a line break', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (name) => {
    const shown = printableName(name);
    assert.doesNotMatch(shown, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  }), { numRuns: 2000 });
});
