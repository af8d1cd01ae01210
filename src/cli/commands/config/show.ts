import { printableName } from '../../../core/terminal-text.ts';
import { flagOption, stringArg, stringOption, type CommandRun } from '../../command.ts';

/** Control characters JSON.stringify leaves as they are (DEL, C1, the Unicode line separators). */
const UNESCAPED = /[\u007f-\u009f\u2028\u2029]/;

/**
 * Strings print bare unless that would hide something (empty, edge spaces,
 * newlines) or drive the terminal (an escape sequence from a cloned
 * project's config): then quoted, every control character escaped.
 */
function formatValue(value: unknown): string {
  if (typeof value === 'string') {
    if (value === '' || value.trim() !== value || /[\u0000-\u001f"]/.test(value) || UNESCAPED.test(value)) {
      return JSON.stringify(value).replace(new RegExp(UNESCAPED, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    }
    return value;
  }
  if (Array.isArray(value)) return '[]';
  if (value !== null && typeof value === 'object') return '{}';
  return String(value);
}

export const run: CommandRun = async (context, input) => {
  const config = await context.app.config();
  const key = stringArg(input, 'KEY');
  const devcontainer = stringOption(input, 'devcontainer');
  const withOrigin = flagOption(input, 'origin');
  const shown = await config.show({ ...(key !== undefined ? { key } : {}), ...(devcontainer ? { devcontainer } : {}) });
  if (key !== undefined && shown.entries.length === 0) context.reporter.info(`${key} is not set`);
  return {
    result: {
      ...(shown.key !== undefined ? { key: shown.key } : {}), config: shown.config, origins: shown.origins, projectSource: shown.projectSource,
      ...(shown.features ? { features: shown.features } : {}),
    },
    human: () => {
      const lines = shown.entries.map((entry) => `${printableName(entry.key)} = ${formatValue(entry.value)}`);
      const width = Math.min(60, Math.max(0, ...lines.map((l) => l.length)));
      const body = withOrigin ? lines.map((line, i) => `${line.padEnd(width)}  ${context.style.dim(`# ${printableName(shown.entries[i]!.origin.where)}`)}`) : lines;
      return [...body, ...featureLines(shown.features ?? [])].join('\n');
    },
  };
};

/** The features section: installation order and every option install.sh will see. */
function featureLines(features: readonly { id: string; version?: string; options: Record<string, unknown>; resolved: boolean; dependency?: boolean }[]): string[] {
  if (features.length === 0) return [];
  const out = ['', 'features (installation order):'];
  for (const [i, f] of features.entries()) {
    const note = !f.resolved ? '   (not fetched yet: defaults appear after the first connect)' : f.dependency ? '   (dependsOn)' : '';
    out.push(`  ${i + 1}. ${printableName(f.id)}${f.version ? ` ${printableName(f.version)}` : ''}${note}`);
    for (const [name, value] of Object.entries(f.options)) out.push(`       ${printableName(name)} = ${formatValue(value)}`);
  }
  return out;
}
