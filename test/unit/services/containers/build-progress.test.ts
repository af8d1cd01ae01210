import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBuildProgressParser } from '../../../../src/services/containers/build-progress.ts';

describe('build progress', () => {
  it('turns JSON messages split anywhere into lines and finds the image id', () => {
    const lines: string[] = [];
    const p = createBuildProgressParser((l) => lines.push(l));
    const text = '{"stream":"Step 1/2 : FROM a\\n"}\r\n{"stream":" ---\\u003e 1234\\n"}\r\n{"stream":"partial "}\r\n{"stream":"line\\n"}\r\n{"aux":{"ID":"sha256:abcd"}}\r\n{"stream":"Successfully built abcd\\n"}\r\n';
    for (let i = 0; i < text.length; i += 7) p.push(text.slice(i, i + 7));
    const outcome = p.end();
    assert.deepEqual(lines, ['Step 1/2 : FROM a', ' ---> 1234', 'partial line', 'Successfully built abcd']);
    assert.equal(outcome.imageId, 'sha256:abcd');
    assert.equal(outcome.error, undefined);
    assert.equal(outcome.step, 'Step 1/2 : FROM a');
  });
  it('keeps a bounded tail for the failure report', () => {
    const p = createBuildProgressParser(() => {});
    for (let i = 0; i < 50; i++) p.push(`{"stream":"line ${i}\\n"}\n`);
    p.push('{"error":"boom","errorDetail":{"message":"boom detail"}}\n');
    const outcome = p.end();
    assert.equal(outcome.error, 'boom detail');
    assert.equal(outcome.tail.length, 20);
    assert.equal(outcome.tail.at(-1), 'line 49');
  });
});
