import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { substituteCompose } from '../../../../src/services/v2/compose-interpolate.ts';

const vars = new Map([['NAME', 'demo'], ['EMPTY', ''], ['PY', '3.12']]);
const sub = (text: string) => substituteCompose(text, vars);

describe('compose variable substitution', () => {
  it('${VAR} and $VAR', () => {
    assert.equal(sub('/workspace/${NAME}').value, '/workspace/demo');
    assert.equal(sub('py$PY-x').value, 'py3.12-x');
  });

  it('defaults: :- on unset or empty, - only on unset', () => {
    assert.equal(sub('${MISSING:-3.11}').value, '3.11');
    assert.equal(sub('${EMPTY:-fallback}').value, 'fallback');
    assert.equal(sub('${EMPTY-fallback}').value, '');
    assert.equal(sub('${MISSING-fallback}').value, 'fallback');
    assert.equal(sub('${NAME:-other}').value, 'demo');
  });

  it('nested defaults', () => {
    assert.equal(sub('${CONTAINER:-${NAME}}').value, 'demo');
    assert.equal(sub('${CONTAINER:-${ALSO_MISSING:-x}-dev}').value, 'x-dev');
  });

  it(':+ alternatives and :? errors', () => {
    assert.equal(sub('${NAME:+set}').value, 'set');
    assert.equal(sub('${EMPTY:+set}').value, '');
    assert.deepEqual(sub('${MISSING:?give it}').errors, ['MISSING is required: give it']);
  });

  it('$$ is a literal dollar', () => {
    assert.equal(sub('echo $${NAME} $$HOME').value, 'echo ${NAME} $HOME');
  });

  it('a variable with no value and no default is reported and becomes empty, like compose', () => {
    const result = sub('${HOME}/.ssh:/root/.ssh');
    assert.equal(result.value, '/.ssh:/root/.ssh');
    assert.deepEqual(result.missing, ['HOME']);
    assert.deepEqual(sub('${MISSING:-x}').missing, [], 'a default is not missing');
  });

  it('records which variables were used', () => {
    assert.deepEqual(sub('${NAME}-${PY}-${NAME}').used, ['NAME', 'PY']);
  });

  it('an unclosed ${ is an error, text kept', () => {
    const result = sub('a ${NAME');
    assert.equal(result.errors.length, 1);
    assert.equal(result.value, 'a ${NAME');
  });
});
