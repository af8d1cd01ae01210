import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Reporter } from '../../../../src/core/reporter.ts';
import { ensureAgent } from '../../../../src/orchestrators/agent/ensure-agent.ts';
import type { Host } from '../../../../src/services/host/types.ts';

/** A built agent of version `version` and a host without one: connect's question, and what is remembered of a "no". */
describe('connect asks once to install the agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlt-ensure-agent-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const agentDir = (version: string) => {
    const manifest = { version, build: 'b', node: '24', files: { x64: { size: 10, sha256: 'a'.repeat(64), gzSize: 5 } } };
    const made = mkdtempSync(join(dir, `agent-${version}-`));
    writeFileSync(join(made, 'manifest.json'), JSON.stringify(manifest));
    return made;
  };
  const host = {
    name: 'gpu-box',
    execScript: async () => ({ exitCode: 0, stdout: 'mlt-probe:system=Linux x86_64\nmlt-probe:uid=1000\nmlt-probe:path=/home/u/.local/bin/mlt\n', stderr: '' }),
  } as unknown as Host;
  const notes: string[] = [];
  const reporter = { info: (m: string) => notes.push(m), warn: (m: string) => notes.push(m), debug: () => {} } as unknown as Reporter;
  const remembered = new Set<string>();
  const declined = { has: (key: string) => remembered.has(key), add: (key: string) => void remembered.add(key) };

  it('a "no" is asked once per version: the next connect skips the question with the note; a new version asks again', async () => {
    let asked = 0;
    const confirm = async () => (asked++, false);
    const v1 = { MLTOOLBOX_AGENT_DIR: agentDir('1.0.0') };
    assert.equal((await ensureAgent(reporter, v1, host, undefined, { yes: false, confirm, declined })).action, 'skipped');
    assert.equal(asked, 1);
    assert.equal((await ensureAgent(reporter, v1, host, undefined, { yes: false, confirm, declined })).action, 'skipped');
    assert.equal(asked, 1, 'not asked again for the same version');
    assert.match(notes.at(-1)!, /you said no before.*mltoolbox agent install gpu-box/);
    await ensureAgent(reporter, { MLTOOLBOX_AGENT_DIR: agentDir('1.1.0') }, host, undefined, { yes: false, confirm, declined });
    assert.equal(asked, 2, 'a newer agent is a new question');
  });

  it('without a terminal nothing is asked and nothing is remembered', async () => {
    remembered.clear();
    const report = await ensureAgent(reporter, { MLTOOLBOX_AGENT_DIR: agentDir('2.0.0') }, host, undefined, { yes: false, declined });
    assert.equal(report.action, 'skipped');
    assert.equal(remembered.size, 0);
  });
});
