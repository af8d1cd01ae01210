/**
 * Text from outside (file names, remote output, config files, error
 * messages quoting user input) must never drive the terminal: an escape
 * sequence would recolour or rewrite the screen, and a newline inside a
 * file name would print a line that looks like ours ("- train.py").
 */

// C0 controls, DEL and the C1 range (ESC's 8-bit twins); also the Unicode line/paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const CONTROL_KEEP_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

function escapeChar(char: string): string {
  switch (char) {
    case '\n': return '\\n';
    case '\r': return '\\r';
    case '\t': return '\\t';
    default: {
      const code = char.charCodeAt(0);
      return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    }
  }
}

/** A name (file, container, host) on one line: every control character, newlines included, written as an escape; a backslash doubled so the result is unambiguous. */
export function printableName(name: string): string {
  return name.replace(/\\/g, '\\\\').replace(CONTROL, escapeChar);
}

/** Free text (a message, a hint, a quoted line): control characters escaped, line breaks and tabs kept. */
export function printableText(text: string): string {
  return text.replace(CONTROL_KEEP_LINES, escapeChar);
}
