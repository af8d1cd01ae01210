#!/usr/bin/env node
// Reports the functions above eslint's `complexity` threshold (cyclomatic
// complexity, the rule's own counting) in src/. A report, not a gate: it exits
// 0 whatever the count. Usage:
//   node scripts/complexity.mjs            # count + the worst 15
//   node scripts/complexity.mjs --all      # every function above the limit
//   node scripts/complexity.mjs --json     # {limit, count, functions: [...]}
//   node scripts/complexity.mjs --max 15   # another threshold (default 10)
//
// TypeScript is read with Node's own type stripping (`module.stripTypeScriptTypes`,
// mode 'strip': types become spaces, so lines and columns stay those of the
// .ts file), then linted by eslint's default JavaScript parser. The project
// uses erasable syntax only (no enums or namespaces), so nothing is lost.
import { readdirSync, readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Linter } from 'eslint';

// The strip API is marked experimental; its warning is noise in a report.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => (String(warning).includes('stripTypeScriptTypes') ? undefined : emitWarning(warning, ...rest));

const root = join(fileURLToPath(import.meta.url), '..', '..');
const args = process.argv.slice(2);
const limitIndex = args.indexOf('--max');
const limit = limitIndex === -1 ? 10 : Number(args[limitIndex + 1]);

function* tsFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* tsFiles(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

const linter = new Linter({ configType: 'flat' });
const config = [{ languageOptions: { ecmaVersion: 'latest', sourceType: 'module' }, rules: { complexity: ['warn', { max: limit }] } }];
const functions = [];
for (const file of tsFiles(join(root, 'src'))) {
  const code = stripTypeScriptTypes(readFileSync(file, 'utf8'), { mode: 'strip' });
  for (const message of linter.verify(code, config, { filename: file.replace(/\.ts$/, '.js') })) {
    const where = `${relative(root, file)}:${message.line}`;
    if (message.fatal) {
      console.error(`complexity: could not parse ${where}: ${message.message}`);
      continue;
    }
    const match = /^(.*) has a complexity of (\d+)/.exec(message.message);
    if (match) functions.push({ where, name: match[1], complexity: Number(match[2]) });
  }
}
functions.sort((a, b) => b.complexity - a.complexity || a.where.localeCompare(b.where));

if (args.includes('--json')) {
  console.log(JSON.stringify({ limit, count: functions.length, functions }, null, 2));
} else {
  console.log(`complexity: ${functions.length} functions above ${limit} (eslint 'complexity' rule, src/)`);
  for (const f of args.includes('--all') ? functions : functions.slice(0, 15)) {
    console.log(`  ${String(f.complexity).padStart(3)}  ${f.where}  ${f.name}`);
  }
}
