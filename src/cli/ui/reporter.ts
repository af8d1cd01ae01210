import type { Writable } from 'node:stream';
import type { Reporter, TaskHandle } from '../../core/reporter.ts';
import { printableText } from '../../core/terminal-text.ts';
import type { Style } from './style.ts';

export interface TerminalReporterOptions {
  stream: Writable & { isTTY?: boolean; columns?: number };
  style: Style;
  verbose: boolean;
  quiet: boolean;
  /** Spinners only on an interactive stderr; pipes and CI get plain lines. */
  interactive: boolean;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** The CLI's Reporter: everything on stderr, spinners only on a TTY. */
export function createTerminalReporter(options: TerminalReporterOptions): Reporter {
  const { stream, style, verbose, quiet, interactive } = options;
  const write = (line: string) => stream.write(`${line}\n`);
  let activeSpinner: { clear(): void; redraw(): void } | undefined;
  const say = (line: string) => {
    activeSpinner?.clear();
    write(line);
    activeSpinner?.redraw();
  };

  return {
    // Messages quote names and remote output: their control characters are shown, never obeyed.
    info: (m) => quiet || say(printableText(m)),
    warn: (m) => say(style.yellow(`! ${printableText(m)}`)),
    success: (m) => quiet || say(style.green(`✔ ${printableText(m)}`)),
    debug: (m) => verbose && say(style.dim(`· ${printableText(m)}`)),
    async task<T>(rawTitle: string, work: (task: TaskHandle) => Promise<T>): Promise<T> {
      const title = printableText(rawTitle);
      const started = Date.now();
      let detail = '';
      const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
      if (!interactive || quiet) {
        if (!quiet) write(`… ${title}`);
        try {
          const value = await work({ update: (d) => verbose && write(style.dim(`  ${printableText(d)}`)) });
          if (!quiet) write(style.green(`✔ ${title}`) + style.dim(` (${elapsed()})`));
          return value;
        } catch (error) {
          write(style.red(`✖ ${title}`));
          throw error;
        }
      }
      let frame = 0;
      const render = () => {
        const text = `${style.cyan(FRAMES[frame % FRAMES.length]!)} ${title}${detail ? style.dim(` ${detail}`) : ''}`;
        const width = stream.columns ?? 80;
        stream.write(`\r\u001b[2K${text.slice(0, width + 40)}`);
      };
      const spinner = { clear: () => stream.write('\r\u001b[2K'), redraw: render };
      const previous = activeSpinner;
      activeSpinner = spinner;
      render();
      const timer = setInterval(() => {
        frame++;
        render();
      }, 80);
      try {
        const value = await work({
          update: (d) => {
            detail = printableText(d);
            render();
          },
        });
        spinner.clear();
        write(style.green(`✔ ${title}`) + style.dim(` (${elapsed()})`));
        return value;
      } catch (error) {
        spinner.clear();
        write(style.red(`✖ ${title}`));
        throw error;
      } finally {
        clearInterval(timer);
        activeSpinner = previous;
      }
    },
  };
}
