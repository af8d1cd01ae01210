/**
 * The one rule for an environment variable name we pass to a container,
 * wherever it is written (mltoolbox.yaml env, profiles, env files,
 * devcontainer.json containerEnv/remoteEnv). Never empty (the engine gets
 * `=value`), never with `=` (`A=B: v` would set A to `B=v`), no spaces or
 * control characters.
 */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export const ENV_NAME_RULE = 'a variable name starts with a letter or _ and holds only letters, digits, _, . and -';

/** Why a name cannot be a variable name, or undefined when it can. */
export function envNameProblem(name: string): string | undefined {
  if (ENV_NAME.test(name)) return undefined;
  if (name === '') return 'an empty variable name';
  if (name.includes('=')) return `'${name}' is not a variable name: it contains '=' (write the name alone as the key, the value after the colon)`;
  return `'${name}' is not a variable name: ${ENV_NAME_RULE}`;
}
