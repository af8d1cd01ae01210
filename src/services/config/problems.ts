import { relative, isAbsolute, sep } from 'node:path';
import { UserError, type ErrorCode } from '../../core/errors.ts';
import { formatOrigin, type Origin } from './layer.ts';

/** One thing wrong with the configuration, and where it was written. */
export interface ConfigProblem {
  message: string;
  origin?: Origin;
  /** The key path it concerns (`remote.port`), when there is one. */
  key?: string;
}

/** File texts by absolute path, for snippets. */
export type SourceTexts = ReadonlyMap<string, string>;

/** Shows files inside the project relative to it, others as absolute paths. */
export function displayPath(file: string, baseDir: string | undefined): string {
  if (!baseDir) return file;
  const rel = relative(baseDir, file);
  return rel && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel) ? rel : file;
}

export function displayOrigin(origin: Origin, baseDir: string | undefined): string {
  return formatOrigin(origin.file ? { ...origin, file: displayPath(origin.file, baseDir) } : origin);
}

/** The offending line and a caret under the column, or nothing when we lack the text. */
export function snippet(source: string | undefined, line: number | undefined, column: number | undefined): string[] {
  if (source === undefined || !line) return [];
  const text = source.split(/\r?\n/)[line - 1];
  if (text === undefined) return [];
  const shown = text.length > 160 ? `${text.slice(0, 157)}...` : text;
  const gutter = String(line).padStart(4);
  const col = Math.max(1, Math.min(column ?? 1, shown.length + 1));
  // Keep tabs so the caret lines up under tab-indented text.
  const pad = shown.slice(0, col - 1).replace(/[^\t]/g, ' ');
  return [`${gutter} | ${shown}`, `${' '.repeat(gutter.length)} | ${pad}^`];
}

export function formatProblem(problem: ConfigProblem, sources: SourceTexts, baseDir: string | undefined): string[] {
  const where = problem.origin ? `${displayOrigin(problem.origin, baseDir)}: ` : '';
  const lines = [`${where}${problem.message}`];
  if (problem.origin?.file) lines.push(...snippet(sources.get(problem.origin.file), problem.origin.line, problem.origin.column));
  return lines;
}

/** Structured form for --json: positions without the snippet text. */
export function problemData(problem: ConfigProblem, baseDir: string | undefined) {
  const origin = problem.origin;
  return {
    message: problem.message,
    ...(problem.key !== undefined ? { key: problem.key } : {}),
    ...(origin ? { origin: origin.kind, where: displayOrigin(origin, baseDir) } : {}),
    ...(origin?.file ? { file: origin.file } : {}),
    ...(origin?.line ? { line: origin.line, column: origin.column ?? 1 } : {}),
    ...(origin?.name ? { name: origin.name } : {}),
  };
}

/** Every problem at once in one error: the message counts them, details list each with its snippet. */
export function problemsError(
  code: ErrorCode,
  summary: string,
  hint: string,
  problems: readonly ConfigProblem[],
  sources: SourceTexts,
  baseDir: string | undefined,
): UserError {
  const details = problems.flatMap((p) => formatProblem(p, sources, baseDir));
  const message = `${summary} (${problems.length} ${problems.length === 1 ? 'problem' : 'problems'})`;
  return new UserError(code, message, hint, { details, data: { problems: problems.map((p) => problemData(p, baseDir)) } });
}
