import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDotenv } from '../../../../src/services/config/dotenv.ts';

const values = (text: string) => Object.fromEntries(parseDotenv(text).entries.map((e) => [e.name, e.value]));

describe('parseDotenv', () => {
  it('reads NAME=value lines, comments, blank lines and export', () => {
    assert.deepEqual(values('# comment\n\nA=1\nexport B=two\n  C = spaced  \n'), { A: '1', B: 'two', C: 'spaced' });
  });
  it('strips inline comments only after whitespace in unquoted values', () => {
    assert.deepEqual(values('A=x # note\nB=a#b\n'), { A: 'x', B: 'a#b' });
  });
  it('single quotes are literal; double quotes understand escapes', () => {
    assert.deepEqual(values(`A='$HOME \\n # x'\nB="line\\nnext \\"q\\""\n`), { A: '$HOME \\n # x', B: 'line\nnext "q"' });
  });
  it('quoted values may span lines', () => {
    assert.deepEqual(values('KEY="-----BEGIN\nabc\n-----END"\nNEXT=1\n'), { KEY: '-----BEGIN\nabc\n-----END', NEXT: '1' });
  });
  it('never expands or executes anything', () => {
    assert.deepEqual(values('A=$(rm -rf /)\nB=${HOME}\nC=`id`\n'), { A: '$(rm -rf /)', B: '${HOME}', C: '`id`' });
  });
  it('empty values and CRLF line endings', () => {
    assert.deepEqual(values('A=\r\nB=""\r\n'), { A: '', B: '' });
  });
  it('reports bad lines with line and column', () => {
    const { errors } = parseDotenv('A=1\nnot a line\n1BAD=x\nC="open\n');
    assert.deepEqual(errors.map((e) => [e.line, e.message]), [
      [2, 'expected NAME=value'],
      [3, "'1BAD' is not a variable name: a variable name starts with a letter or _ and holds only letters, digits, _, . and -"],
      [4, 'unterminated double-quoted value'],
    ]);
  });
  it('records positions of entries', () => {
    assert.deepEqual(parseDotenv('\n  export X=1\n').entries[0], { name: 'X', value: '1', line: 2, column: 10 });
  });
});
