import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAgentArgs } from '../../../src/agent/args.ts';
import { parseAgentConfig } from '../../../src/agent/config.ts';
import { locateContainer } from '../../../src/agent/locate.ts';
import { UserError } from '../../../src/core/errors.ts';
import type { ContainerSummary } from '../../../src/services/containers/types.ts';

function container(project: string, source: string, state: ContainerSummary['state'] = 'running'): ContainerSummary {
  return {
    id: `id-${project}`, name: `mlt-${project}`, image: 'img', state, status: state, project, configHash: undefined, labels: {}, created: '',
    mounts: [{ type: 'bind', source, destination: '/workspace' }, { type: 'volume', source: '/var/lib/docker/volumes/x', destination: '/data' }],
  };
}

const code = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof UserError);
    return error.code;
  }
  return 'none';
};

describe('mlt argv', () => {
  it('keeps run argv as argv, with or without --', () => {
    assert.deepEqual(parseAgentArgs(['run', '--', 'python', '-c', 'print(1); x = "a b"']).rest, ['python', '-c', 'print(1); x = "a b"']);
    assert.deepEqual(parseAgentArgs(['--project', 'm', 'run', 'ls', '-la']).rest, ['ls', '-la']);
    assert.equal(parseAgentArgs(['--project=m', 'run', 'ls']).project, 'm');
  });
  it('reads logs options and refuses unknown ones', () => {
    assert.deepEqual({ ...parseAgentArgs(['logs', '-f', '--tail', '5']) }, { command: 'logs', json: false, follow: true, tail: 5, rest: [], help: false });
    assert.equal(code(() => parseAgentArgs(['logs', '--tail', 'x'])), 'USAGE');
    assert.equal(code(() => parseAgentArgs(['status', '--bogus'])), 'USAGE');
    assert.equal(code(() => parseAgentArgs(['nope'])), 'UNKNOWN_COMMAND');
    assert.equal(parseAgentArgs(['--version']).command, 'version');
  });
});

describe('which container', () => {
  const a = container('alpha-11111111', '/root/mltoolbox/alpha-11111111');
  const b = container('beta-22222222', '/root/mltoolbox/beta-22222222');
  it('the current folder picks the project and maps the folder into the container', () => {
    const found = locateContainer({ containers: [a, b], cwd: '/root/mltoolbox/beta-22222222/src/pkg' });
    assert.equal(found.container, b);
    assert.equal(found.cwdInContainer, '/workspace/src/pkg');
    assert.equal(found.by, 'cwd');
    // A sibling folder with the same prefix is not inside.
    assert.equal(code(() => locateContainer({ containers: [a, b], cwd: '/root/mltoolbox/beta-22222222x' })), 'AGENT_CONTAINER_AMBIGUOUS');
  });
  it('--project by slug or name; the only running one; none', () => {
    assert.equal(locateContainer({ containers: [a, b], cwd: '/', project: 'alpha' }).container, a);
    assert.equal(locateContainer({ containers: [a, b], cwd: '/', project: 'beta-22222222' }).container, b);
    assert.equal(locateContainer({ containers: [a, b], cwd: '/', defaultProject: 'beta' }).by, 'config');
    assert.equal(code(() => locateContainer({ containers: [a], cwd: '/', project: 'gamma' })), 'AGENT_PROJECT_UNKNOWN');
    assert.equal(locateContainer({ containers: [a, container('c-33333333', '/x', 'exited')], cwd: '/' }).container, a);
    assert.equal(code(() => locateContainer({ containers: [], cwd: '/' })), 'AGENT_NO_CONTAINER');
    assert.equal(code(() => locateContainer({ containers: [container('c-33333333', '/x', 'exited')], cwd: '/' })), 'AGENT_NO_CONTAINER');
  });
});

describe('agent.yaml', () => {
  it('reads the known settings', async () => {
    assert.deepEqual(await parseAgentConfig('/etc/a.yaml', 'project: model\nshell: zsh\ndocker_socket: /run/docker.sock\n'), { project: 'model', shell: 'zsh', dockerSocket: '/run/docker.sock' });
    assert.deepEqual(await parseAgentConfig('/etc/a.yaml', ''), {});
  });
  it('names file:line:column for each problem', async () => {
    const error = await parseAgentConfig('/etc/a.yaml', 'project: ok\nshel: zsh\ndocker_socket: relative\n').catch((e: unknown) => e);
    assert.ok(error instanceof UserError);
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.deepEqual(error.details, [
      '/etc/a.yaml:2:1: unknown setting "shel" (known: project, shell, docker_socket)',
      '/etc/a.yaml:3:16: docker_socket must be an absolute path to a unix socket',
    ]);
    const broken = await parseAgentConfig('/etc/a.yaml', 'project: [\n').catch((e: unknown) => e);
    assert.match((broken as UserError).details[0]!, /^\/etc\/a\.yaml:\d+:\d+: /);
  });
});

describe('bind mounts', () => {
  it('translate paths both ways through the deepest mount, never a sibling', async () => {
    const { throughBindMount } = await import('../../../src/agent/locate.ts');
    const mounts = [
      { type: 'bind', source: '/root/p', destination: '/workspace' },
      { type: 'bind', source: '/data/big', destination: '/workspace/data' },
      { type: 'volume', source: '/var/lib/docker/volumes/v/_data', destination: '/cache' },
    ];
    assert.equal(throughBindMount(mounts, '/workspace/data/x.bin', 'destination')?.path, '/data/big/x.bin');
    assert.equal(throughBindMount(mounts, '/workspace/src/a.py', 'destination')?.path, '/root/p/src/a.py');
    assert.equal(throughBindMount(mounts, '/workspaces/a', 'destination'), undefined);
    assert.equal(throughBindMount(mounts, '/cache/a', 'destination'), undefined, 'volumes are not host folders we serve');
    assert.equal(throughBindMount(mounts, '/root/p', 'source')?.path, '/workspace');
  });
});

describe('mlt shell on a terminal', () => {
  it('starts zsh, then bash, then sh with a TTY of the terminal\'s size, follows a resize, and returns the shell\'s exit code', async () => {
    const { PassThrough } = await import('node:stream');
    const { shell, SHELL_SCRIPT } = await import('../../../src/agent/commands.ts');
    const resized: { columns: number; rows: number }[] = [];
    const started: { argv: readonly string[]; options: Record<string, unknown> }[] = [];
    let finish: (exitCode: number) => void = () => {};
    const project = container('alpha-11111111', '/srv/alpha');
    const containers = {
      list: async () => [project],
      inspect: async () => ({ workdir: '/workspace' }),
      startExec: async (_id: string, argv: readonly string[], options: Record<string, unknown>) => {
        started.push({ argv, options });
        return {
          stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), detach() {},
          resize: async (size: { columns: number; rows: number }) => void resized.push(size),
          done: new Promise<{ exitCode: number }>((resolve) => (finish = (exitCode) => resolve({ exitCode }))),
        };
      },
    };
    const rawModes: boolean[] = [];
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (on: boolean) => void rawModes.push(on) });
    const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 120, rows: 40 });
    const home = (await import('node:os')).tmpdir();
    const ctx = {
      args: parseAgentArgs(['shell']), env: { HOME: home, XDG_CONFIG_HOME: `${home}/mlt-agent-test-none`, TERM: 'screen-256color' }, cwd: '/srv/alpha/src',
      stdin, stdout, stderr: new PassThrough(), version: { version: '0.0.0', build: undefined },
      containers: async () => containers,
    } as unknown as Parameters<typeof shell>[0];
    const outcome = shell(ctx);
    // Bounded by time, not turns: the agent reads its config files first, which a loaded machine makes slow.
    for (const deadline = Date.now() + 10_000; started.length === 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 5));
    assert.equal(started.length, 1, 'the shell was started within 10 s');
    assert.deepEqual(started[0]!.argv, ['sh', '-c', SHELL_SCRIPT]);
    assert.match(SHELL_SCRIPT, /for s in zsh bash;.*exec "\$s" -l.*exec sh -l/);
    assert.deepEqual(started[0]!.options, { tty: true, interactive: true, workdir: '/workspace/src', size: { columns: 120, rows: 40 }, env: { TERM: 'screen-256color' } });
    assert.deepEqual(rawModes, [true]);
    Object.assign(stdout, { columns: 90, rows: 30 });
    stdout.emit('resize');
    assert.deepEqual(resized, [{ columns: 90, rows: 30 }]);
    finish(7);
    assert.deepEqual(await outcome, { exitCode: 7 });
    assert.deepEqual(rawModes, [true, false], 'the terminal is given back');
  });
});
