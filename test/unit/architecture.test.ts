import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, it } from 'node:test';

/**
 * The layering rule, as data. tsc -b enforces the same through project
 * references (src/<layer>/tsconfig.json); this test names the offending
 * import in plain words, and also covers type-only and dynamic imports.
 */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  db: ['core'],
  infrastructure: ['core'],
  services: ['infrastructure', 'core'],
  'plugin-api': ['core'],
  plugins: ['plugin-api', 'core'],
  backends: ['infrastructure', 'plugin-api', 'core'],
  orchestrators: ['services', 'backends', 'db', 'infrastructure', 'plugin-api', 'core'],
  app: ['orchestrators', 'relay', 'services', 'backends', 'db', 'infrastructure', 'plugins', 'plugin-api', 'core'],
  cli: ['app', 'orchestrators', 'core'],
  relay: ['db', 'core'],
  agent: ['relay', 'services', 'backends', 'infrastructure', 'core'],
};

/**
 * The agent ships as one small executable: from src/relay it may import the
 * wire protocol only, never the server (fastify, pg, SQLite).
 */
const AGENT_MAY_IMPORT_FROM_RELAY = ['relay/protocol.ts'];

const SRC = new URL('../../src/', import.meta.url).pathname;

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

const IMPORT = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

describe('architecture', () => {
  it('every layer folder is known', () => {
    const layers = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    for (const layer of layers) assert.ok(layer in ALLOWED, `src/${layer} is not in the layer table; add it here and to tsconfig references`);
  });

  it('imports only go down the layers', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const layer = relative(SRC, file).split(sep)[0]!;
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(IMPORT)) {
        const specifier = match[1] ?? match[2]!;
        if (!specifier.startsWith('.')) continue;
        const target = relative(SRC, join(file, '..', specifier)).split(sep)[0]!;
        if (target !== layer && !ALLOWED[layer]!.includes(target)) {
          violations.push(`${relative(SRC, file)} imports ${specifier} (${layer} -> ${target})`);
        }
      }
    }
    assert.deepEqual(violations, []);
  });

  it('the agent imports only the wire protocol from the relay', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(join(SRC, 'agent'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const specifier = match[1] ?? match[2]!;
        if (!specifier.startsWith('.')) continue;
        const target = relative(SRC, join(file, '..', specifier)).split(sep).join('/');
        if (target.startsWith('relay/') && !AGENT_MAY_IMPORT_FROM_RELAY.includes(target)) violations.push(`${relative(SRC, file)} imports ${specifier}`);
      }
    }
    assert.deepEqual(violations, []);
  });

  it('the core knows no plugin by name: built-in plugins\' sections, defaults and steps live in src/plugins', () => {
    // v2 migration maps v2's Ray flag to `plugins: [ray]` (a data mapping of the old format), and the
    // app wires the built-in list: those two may name a plugin; schema, defaults and flows may not.
    const exempt = ['plugins', 'plugin-api', 'app', join('services', 'v2'), join('cli', 'legacy')];
    const byName = /(['"`])(ray|wandb|slack|gpu-metrics|gpu_metrics)\1|\.(ray|wandb|slack|gpu_metrics)\b|^\s*(ray|wandb|slack|gpu_metrics)\??:/;
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const path = relative(SRC, file);
      if (exempt.some((dir) => path.startsWith(`${dir}${sep}`))) continue;
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '');
        if (/^\s*(\*|\/\*)/.test(code)) return;
        if (byName.test(code)) offenders.push(`${path}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepEqual(offenders, []);
  });

  it('no module-level singletons: services are created by the app factory', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const text = readFileSync(file, 'utf8');
      // A top-level `export const x = new Something(` or `let` holding state.
      if (/^export const \w+ = new \w+\(/m.test(text) || /^let \w+/m.test(text)) offenders.push(relative(SRC, file));
    }
    assert.deepEqual(offenders, []);
  });

  it('one model per concept: each is declared in its one module only', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const where = relative(SRC, file).split(sep).join('/');
      const text = readFileSync(file, 'utf8');
      for (const concept of CONCEPTS) {
        if (where === concept.owner) continue;
        for (const match of text.matchAll(DECLARATION)) {
          if (concept.names.test(match[1]!)) offenders.push(`${where} declares ${match[1]} (${concept.what} lives in src/${concept.owner})`);
        }
      }
    }
    assert.deepEqual(offenders, []);
  });
});

/** A function, interface, type or const declared by name. */
const DECLARATION = /^\s*(?:export\s+)?(?:async\s+)?(?:function\*?|interface|type|const|class)\s+(\w+)/gm;

/**
 * Concepts written once. A second parser for one of these is how the two
 * target parsers and three port parsers drifted apart: extend the owner
 * module instead of declaring another.
 */
const CONCEPTS: readonly { what: string; owner: string; names: RegExp }[] = [
  { what: 'an ssh target (parse, resolve, user, port, alias)', owner: 'services/ssh/target.ts', names: /^(?:parse\w*Target|\w*SshTarget\w*|resolve\w*Target|validateUser|parseUser|validateAlias|parsePort)$/ },
  { what: 'a port mapping (-p, environment.ports)', owner: 'services/ports/port-spec.ts', names: /^(?:parsePort(?:Mapping|Spec)\w*|PortMapping|mergePort\w*|formatPort\w*|PORT_MAPPING)$/ },
  { what: 'a volume (docker -v syntax)', owner: 'services/containers/volume-spec.ts', names: /^parseVolume\w*$/ },
];
