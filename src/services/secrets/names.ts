import { UserError } from '../../core/errors.ts';

/**
 * A name starts with a letter or digit, so names cannot collide with the
 * backends' own bookkeeping entries (which start with `__`), and it is safe
 * inside `${secret:name}` and in keychain UIs.
 */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function isValidSecretName(name: string): boolean {
  return NAME.test(name);
}

export function assertSecretName(name: string): void {
  if (isValidSecretName(name)) return;
  // The bad name is shown: it is a name, not a value.
  throw new UserError('SECRET_NAME_INVALID', `'${name}' is not a valid secret name`,
    'use 1-128 letters, digits, `_`, `-` or `.`, starting with a letter or digit (e.g. wandb_api_key)');
}

export function assertSecretValue(value: string): void {
  if (value.length > 0) return;
  throw new UserError('SECRET_VALUE_EMPTY', 'the secret value is empty', 'type the value at the prompt, or pipe it: printf %s "$VALUE" | mltoolbox secret set NAME');
}
