import type { HarnessInfo } from './harness.ts';

/**
 * The mltoolbox.yaml of a project the provisioning tests launch instances for:
 * the harness image, the harness key as the instances' key, and Lambda's
 * instances reached as the harness user on `sshPort` (the harness sshd, or a
 * relay in front of it). `sections` go between environment and provision
 * (agent:, relay:); `extra` after the Lambda backend.
 */
export function provisionProjectYaml(harness: HarnessInfo, options: {
  name: string;
  image?: string;
  sshPort?: number;
  sections?: string[];
  extra?: string[];
}): string {
  return [
    'version: 1',
    'project:',
    `  name: ${options.name}`,
    'environment:',
    `  base_image: ${options.image ?? harness.docker.baseImage}`,
    '  gpus: optional',
    ...(options.sections ?? []),
    'provision:',
    `  ssh_public_key: ${harness.ssh.identityFile}.pub`,
    '  backends:',
    '    lambda:',
    `      ssh_user: ${harness.ssh.user}`,
    `      ssh_port: ${options.sshPort ?? harness.ssh.port}`,
    ...(options.extra ?? []),
    '',
  ].join('\n');
}
