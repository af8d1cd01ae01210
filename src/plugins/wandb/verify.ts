/**
 * Checking a W&B API key inside the container without putting it on any
 * command line: the key travels in the exec's environment, and the Python
 * snippet reads it from there. `wandb.Api(...).viewer` asks the server who
 * the key belongs to and writes nothing (unlike `wandb login`, which saves
 * the key to ~/.netrc in plaintext).
 */

export const WANDB_KEY_ENV = 'WANDB_API_KEY';

const MARKER = 'MLT_WANDB';

const SCRIPT = [
  'import os, sys',
  'try:',
  '    import wandb',
  'except Exception:',
  `    print("${MARKER} not-installed"); sys.exit(0)`,
  'try:',
  `    viewer = wandb.Api(api_key=os.environ["${WANDB_KEY_ENV}"], timeout=20).viewer`,
  '    name = getattr(viewer, "username", None) or getattr(viewer, "entity", None) or ""',
  `    print("${MARKER} ok " + str(name))`,
  'except Exception as error:',
  '    text = (str(error).splitlines() or [""])[0][:200]',
  `    print("${MARKER} failed " + type(error).__name__ + ": " + text)`,
].join('\n');

/** Tries python3 first (Debian/Ubuntu images), then python (conda images). */
export function wandbVerifyCommand(): string[] {
  return ['sh', '-c', 'if command -v python3 >/dev/null 2>&1; then exec python3 -c "$1"; elif command -v python >/dev/null 2>&1; then exec python -c "$1"; else echo "MLT_WANDB no-python"; fi', 'mlt-wandb-verify', SCRIPT];
}

export type WandbVerification =
  | { status: 'ok'; user: string }
  | { status: 'not-installed' }
  | { status: 'no-python' }
  | { status: 'failed'; message: string };

/**
 * Reads the snippet's marker line. `secret` is scrubbed from any message
 * because a server error could echo what it was sent.
 */
export function parseWandbVerify(output: string, exitCode: number, secret: string): WandbVerification {
  const line = output.split('\n').map((l) => l.trim()).find((l) => l.startsWith(`${MARKER} `));
  const scrub = (text: string) => (secret === '' ? text : text.replaceAll(secret, '***'));
  if (!line) {
    const first = output.trim().split('\n').pop()?.trim() ?? '';
    return { status: 'failed', message: scrub(first || `verification exited with ${exitCode}`) };
  }
  const rest = line.slice(MARKER.length + 1);
  if (rest === 'not-installed') return { status: 'not-installed' };
  if (rest === 'no-python') return { status: 'no-python' };
  if (rest.startsWith('ok')) return { status: 'ok', user: scrub(rest.slice(2).trim()) };
  return { status: 'failed', message: scrub(rest.replace(/^failed\s*/, '')) };
}
