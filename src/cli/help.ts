import type { CommandSpec, OptionSpec } from './command.ts';
import { GLOBAL_OPTIONS, usageLine } from './parse-argv.ts';
import type { Style } from './ui/style.ts';

const GROUP_ORDER: CommandSpec['group'][] = ['Start here', 'Hosts', 'Cloud GPUs', 'Configuration', 'Secrets'];

function optionLabel(name: string, spec: OptionSpec): string {
  const long = `--${name}${spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : ''}`;
  return spec.short ? `-${spec.short}, ${long}` : `    ${long}`;
}

function table(rows: [string, string][], indent = '  '): string {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`).join('\n');
}

export function renderMainHelp(commands: readonly CommandSpec[], style: Style): string {
  const lines = [
    `${style.bold('mltoolbox')} — remote ML development that feels local`,
    '',
    `${style.bold('Usage:')} mltoolbox [global options] <command> [arguments] [options]`,
  ];
  for (const group of GROUP_ORDER) {
    const inGroup = commands.filter((c) => c.group === group);
    if (inGroup.length === 0) continue;
    lines.push('', style.bold(`${group}:`), table(inGroup.map((c) => [c.name, c.summary])));
  }
  lines.push('', style.bold('Global options:'));
  lines.push(table(Object.entries(GLOBAL_OPTIONS).map(([name, spec]) => [optionLabel(name, spec), spec.description])));
  lines.push('', `Run 'mltoolbox <command> --help' for a command's options. Docs: docs/ in the repository.`);
  return lines.join('\n');
}

export function renderGroupHelp(word: string, commands: readonly CommandSpec[], style: Style): string {
  const inGroup = commands.filter((c) => c.name.startsWith(`${word} `));
  return [
    `${style.bold('Usage:')} mltoolbox ${word} <subcommand>`,
    '',
    style.bold('Subcommands:'),
    table(inGroup.map((c) => [c.name, c.summary])),
  ].join('\n');
}

export function renderCommandHelp(command: CommandSpec, style: Style): string {
  const lines = [`${style.bold('Usage:')} mltoolbox ${command.name} ${usageLine(command)}`.trimEnd(), '', command.summary];
  if (command.description) lines.push('', command.description);
  if (command.args?.length) {
    lines.push('', style.bold('Arguments:'));
    lines.push(table(command.args.map((a) => [a.name.toUpperCase(), a.description])));
  }
  const options = Object.entries(command.options ?? {});
  if (options.length) {
    lines.push('', style.bold('Options:'));
    lines.push(table(options.map(([name, spec]) => [optionLabel(name, spec), spec.description])));
  }
  if (command.examples?.length) {
    lines.push('', style.bold('Examples:'), ...command.examples.map((e) => `  ${e}`));
  }
  lines.push('', `Global options (--json, --verbose, --quiet, --no-color, -C DIR) work with every command.`);
  return lines.join('\n');
}
