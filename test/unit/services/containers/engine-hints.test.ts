import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localEngineHint } from '../../../../src/services/containers/errors.ts';
import { localHostFacts } from '../../../../src/services/diagnostics/host-facts.ts';

/** This machine's engine does not answer: the hint depends on what is installed and which init system runs. */
describe('local engine unreachable: the hint fits this machine', () => {
  const machine = (paths: string[], release = 'ID=debian\nVERSION_CODENAME=bookworm\n') => localHostFacts((p) => paths.includes(p), () => release);
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';

  it('no dockerd: install it (apt on Debian), never "start"', () => {
    const hint = localEngineHint('/var/run/docker.sock', machine([]));
    assert.match(hint, /^the Docker Engine is not installed on this machine: /);
    assert.match(hint, /apt-get install -y -qq docker\.io/);
    assert.doesNotMatch(hint, /systemctl|start it/);
    assert.match(localEngineHint('/s', machine([], 'ID=arch\n')), /docs\.docker\.com\/engine\/install/);
  });

  it('installed, no systemd: its init script, else dockerd in the background; systemctl only with systemd', () => {
    assert.equal(localEngineHint('/run/d.sock', machine(['/usr/sbin/dockerd', '/etc/init.d/docker'])),
      `the Docker Engine is installed but not running: start it (${sudo}service docker start); if it runs elsewhere, point DOCKER_HOST at its socket (looked for /run/d.sock)`);
    assert.match(localEngineHint('/s', machine(['/usr/bin/dockerd'])), /nohup dockerd >\/var\/log\/dockerd\.log 2>&1 &/);
    assert.match(localEngineHint('/s', machine(['/usr/bin/dockerd', '/run/systemd/system'])), new RegExp(`start it \\(${sudo}systemctl enable --now docker\\)`));
    for (const paths of [['/usr/sbin/dockerd'], ['/usr/sbin/dockerd', '/etc/init.d/docker'], []]) assert.doesNotMatch(localEngineHint('/s', machine(paths)), /systemctl/);
  });
});
