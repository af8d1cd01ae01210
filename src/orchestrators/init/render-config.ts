import { stringify } from 'yaml';

/** Everything `init` found, ready to be written as a commented mltoolbox.yaml. */
export interface InitPlan {
  projectName: string;
  nameFrom: 'pyproject.toml' | 'devcontainer.json' | 'folder name';
  /** Project-relative file the container settings came from, if any. */
  sourceFile?: string;
  sourceKind: 'devcontainer' | 'dockerfile' | 'defaults';
  /** The `environment:` values to write (converted devcontainer.json, a Dockerfile, or the default image). */
  environment: Record<string, unknown>;
  workdir?: string;
  requiresPython?: string;
  pythonVersion?: string;
  /** What could not be converted (already positioned "file:line:col: …"). */
  notConverted: readonly string[];
  /** The modeline's schema reference. */
  schemaRef: string;
}

/** Commented-out examples, shown only for keys the plan does not set. */
const ENVIRONMENT_EXAMPLES: ReadonlyArray<[key: string, lines: readonly string[]]> = [
  ['env', ['env:', '  WANDB_PROJECT: my-project', '  WANDB_API_KEY: ${secret:wandb_api_key}   # mltoolbox secret set wandb_api_key', '  HF_TOKEN: ${env:HF_TOKEN:-}               # from your shell, empty if unset']],
  ['ports', ['ports: [8888, 6006]            # forwarded to localhost (Jupyter, TensorBoard)']],
  ['volumes', ['volumes:', '  - /data/imagenet:/data:ro     # a path on the GPU host']],
  ['gpus', ['gpus: optional                # required | optional | none']],
  ['gpu_count', ['gpu_count: all']],
  ['shm_size', ['shm_size: 16g                 # shared memory for DataLoader workers (default 8g)']],
  ['post_create_command', ['post_create_command: pip install -e .']],
];

/** Lines as YAML comments (also used by `migrate`). */
export function comment(lines: readonly string[], indent = ''): string[] {
  return lines.map((line) => `${indent}# ${line.replace(/[\r\n]+/g, ' ')}`.trimEnd());
}

/** A value as block YAML lines, two-space indented, never wrapped (also used by `migrate`). */
export function yamlBlock(value: unknown): string[] {
  return stringify(value, { lineWidth: 0, indent: 2 }).trimEnd().split('\n');
}

export function renderConfig(plan: InitPlan): string {
  const out: string[] = [];
  out.push(`# yaml-language-server: $schema=${plan.schemaRef}`);
  out.push('#');
  const from = plan.sourceFile ? ` from ${plan.sourceFile}` : '';
  out.push(...comment([
    `mltoolbox project configuration, written by \`mltoolbox init\`${from}.`,
    ...(plan.sourceKind === 'devcontainer' ? [`mltoolbox now reads this file, not ${plan.sourceFile}; keep them in step if you still use both.`] : []),
    'Personal settings (your GPU host, local paths) go in mltoolbox.local.yaml, which git ignores.',
    'Check it: mltoolbox config validate    See every value and its origin: mltoolbox config show --origin',
    `Editor completion reads ${plan.schemaRef}; refresh it after upgrading mltoolbox:`,
    `  mltoolbox config schema > ${plan.schemaRef}`,
  ]));
  out.push('version: 1', '');

  out.push('project:');
  // Quoted when YAML would read it as something else: a folder named 2024, 1.0 or null is still a name.
  out.push(`  ${yamlBlock({ name: plan.projectName })[0]}${plan.nameFrom === 'folder name' ? '' : `   # from ${plan.nameFrom}`}`);
  if (plan.workdir) out.push(...yamlBlock({ workdir: plan.workdir }).map((l) => `  ${l}`));
  else out.push('  # workdir: /workspace        # where the project lives in the container');
  out.push('');

  out.push(...comment(['The container: image, variables, mounts, ports, GPUs and lifecycle commands.']));
  out.push('environment:');
  if (plan.sourceKind === 'defaults') {
    out.push(...comment(['Exactly one of base_image, dockerfile (path, context, args, target).'], '  '));
    if (plan.requiresPython) {
      out.push(...comment([`pyproject.toml asks for Python ${plan.requiresPython}: make sure the image provides it${plan.pythonVersion ? ` (for CPU-only work: python:${plan.pythonVersion}-slim)` : ''}.`], '  '));
    }
  }
  const environmentLines = Object.keys(plan.environment).length > 0 ? yamlBlock(plan.environment) : [];
  out.push(...environmentLines.map((l) => `  ${l}`));
  const examples = ENVIRONMENT_EXAMPLES.filter(([key]) => !(key in plan.environment));
  if (examples.length > 0) {
    out.push('', ...comment(['More settings (uncomment to use):'], '  '));
    for (const [, lines] of examples) out.push(...comment(lines, '  '));
  }
  out.push('');

  if (plan.notConverted.length > 0) {
    out.push(...comment([`Not converted from ${plan.sourceFile} (no mltoolbox equivalent):`, ...plan.notConverted.map((w) => `  - ${w}`)]), '');
  }

  out.push(...comment([
    'The GPU host: an ~/.ssh/config alias or a hostname. Usually per person, in mltoolbox.local.yaml.',
    'remote:',
    '  host: gpu-box',
    '',
    'What is copied to the host (your .gitignore is respected too).',
    'sync:',
    '  exclude: [data/, checkpoints/, outputs/]',
  ]));
  return `${out.join('\n')}\n`;
}
