import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { CommandSpec } from '../../../src/cli/command.ts';
import { runCli } from '../../../src/cli/main.ts';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

const echo: CommandSpec = {
  name: 'demo echo',
  summary: 'Echo',
  group: 'Start here',
  args: [{ name: 'word', description: 'a word', required: true }],
  options: { loud: { type: 'boolean', description: 'shout' }, tag: { type: 'string', multiple: true, description: 'tags' } },
  acceptsRest: true,
  load: async () => ({
    run: async (_context, input) => ({
      result: { word: input.args.word, loud: input.options.loud === true, tags: input.options.tag ?? [], rest: input.rest },
      human: () => String(input.args.word),
    }),
  }),
};

async function run(argv: string[]) {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli({ argv, env: { NO_COLOR: '1' }, cwd: process.cwd(), stdin: new PassThrough(), stdout: stdout.stream, stderr: stderr.stream }, [echo]);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('runCli', () => {
  it('routes two-word commands, options anywhere, and -- rest arguments', async () => {
    const { code, stdout } = await run(['--json', 'demo', 'echo', 'hi', '--loud', '--tag', 'a', '--tag', 'b', '--', '--not-an-option', 'x']);
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), { ok: true, command: 'demo echo', result: { word: 'hi', loud: true, tags: ['a', 'b'], rest: ['--not-an-option', 'x'] }, error: null });
  });
  it('prints results on stdout only', async () => {
    const { stdout, stderr } = await run(['demo', 'echo', 'hi']);
    assert.equal(stdout, 'hi\n');
    assert.equal(stderr, '');
  });
  it('unknown options are usage errors with a suggestion', async () => {
    const { code, stderr } = await run(['demo', 'echo', 'hi', '--lod']);
    assert.equal(code, 2);
    assert.match(stderr, /unknown option --lod/);
    assert.match(stderr, /did you mean --loud/);
  });
  it('unknown commands suggest the closest', async () => {
    const { code, stderr } = await run(['demo', 'ecko']);
    assert.equal(code, 2);
    assert.match(stderr, /UNKNOWN_COMMAND/);
    assert.match(stderr, /did you mean 'mltoolbox demo echo'/);
  });
  it('a missing required argument names it', async () => {
    const { code, stderr } = await run(['demo', 'echo']);
    assert.equal(code, 2);
    assert.match(stderr, /needs WORD/);
  });
  it('never echoes stray arguments of a command that reads secrets', async () => {
    const secretish: CommandSpec = { ...echo, name: 'demo secret', sensitiveArgs: true };
    const stderr = capture();
    const code = await runCli({ argv: ['demo', 'secret', 'NAME', 'hunter2'], env: { NO_COLOR: '1' }, cwd: process.cwd(), stdin: new PassThrough(), stdout: new PassThrough(), stderr: stderr.stream }, [secretish]);
    assert.equal(code, 2);
    assert.doesNotMatch(stderr.text(), /hunter2/);
    assert.match(stderr.text(), /1 unexpected argument/);
  });
  it('--json errors are one envelope on stdout', async () => {
    const { stdout } = await run(['--json', 'nope']);
    const envelope = JSON.parse(stdout);
    assert.equal(envelope.ok, false);
    assert.equal(envelope.error.code, 'UNKNOWN_COMMAND');
  });
  it('help for a group and a command', async () => {
    assert.match((await run(['demo'])).stdout, /demo echo/);
    const help = await run(['demo', 'echo', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: mltoolbox demo echo WORD \[options\] \[-- ARGS\.\.\.\]/);
  });
});

describe('docs/cli.md', () => {
  it('documents every command', async () => {
    const { readFileSync } = await import('node:fs');
    const { commands } = await import('../../../src/cli/commands/index.ts');
    const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
    const missing = commands.filter((c) => !doc.includes(`### ${c.name}\n`)).map((c) => c.name);
    assert.deepEqual(missing, [], 'add these commands to docs/cli.md');
  });
  it('documents every option of every command (or names the command whose options it shares)', async () => {
    const { readFileSync } = await import('node:fs');
    const { commands } = await import('../../../src/cli/commands/index.ts');
    const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
    const undocumented: string[] = [];
    for (const command of commands) {
      const start = doc.indexOf(`### ${command.name}\n`);
      const end = doc.indexOf('\n### ', start + 4);
      const section = doc.slice(start, end < 0 ? undefined : end);
      if (/The options are those of/.test(section)) continue;
      for (const option of Object.keys(command.options ?? {})) if (!section.includes(`--${option}`)) undocumented.push(`${command.name} --${option}`);
    }
    assert.deepEqual(undocumented, [], 'document these options in docs/cli.md');
  });
});
