/** Terminal colours, decided once per process from flags, env and the TTY. */
export interface Style {
  enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

export function shouldUseColor(options: { noColorFlag: boolean; env: NodeJS.ProcessEnv; isTTY: boolean }): boolean {
  if (options.noColorFlag) return false;
  // https://no-color.org: any non-empty NO_COLOR disables colour.
  if (options.env.NO_COLOR) return false;
  if (options.env.FORCE_COLOR !== undefined) return options.env.FORCE_COLOR !== '0';
  if (options.env.TERM === 'dumb') return false;
  return options.isTTY;
}

export function createStyle(enabled: boolean): Style {
  const wrap = (open: number, close: number) => (text: string) =>
    enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    enabled,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  };
}
