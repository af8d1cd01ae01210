import type { ClusterInfo, ContainerExecOptions, ExecResult, PluginContext, ProjectInfo } from '../../../src/plugin-api/index.ts';

/** A PluginContext whose container, host and forwarder record what they were asked. */
export interface FakeCall {
  where: 'container' | 'host';
  argv: readonly string[];
  env?: Record<string, string>;
}

export interface FakeOptions<Section> {
  section?: Section;
  project?: Record<string, unknown>;
  secrets?: Record<string, string>;
  /** Answers exec calls; default exit 0 with empty output. */
  exec?: (call: FakeCall) => Partial<ExecResult>;
  container?: boolean;
  host?: boolean;
  ports?: boolean;
  target?: string;
  role?: ProjectInfo['role'];
  cluster?: ClusterInfo;
}

export function fakeContext<Section>(options: FakeOptions<Section> = {}) {
  const calls: FakeCall[] = [];
  const logs: string[] = [];
  const forwards: Array<{ containerPort: number; localPort: number }> = [];
  const run = async (call: FakeCall): Promise<ExecResult> => {
    calls.push(call);
    return { exitCode: 0, stdout: '', stderr: '', ...options.exec?.(call) };
  };
  const log = (level: string) => (message: string) => void logs.push(`${level}: ${message}`);
  const context: PluginContext<Section> = {
    plugin: { name: 'test', version: '0.0.0' },
    apiVersion: '1.0',
    logger: {
      info: log('info'), warn: log('warn'), success: log('success'), debug: log('debug'),
      task: async (title, work) => {
        logs.push(`task: ${title}`);
        return work({ update() {} });
      },
    },
    config: { project: options.project ?? {}, section: options.section, options: {} },
    secrets: { get: async (name) => options.secrets?.[name] },
    env: {},
    project: { name: 'demo', localDir: '/tmp/demo', workdir: '/workspace', ...(options.target ? { target: options.target } : {}), ...(options.role ? { role: options.role } : {}) },
    ...(options.cluster ? { cluster: options.cluster } : {}),
    signal: new AbortController().signal,
    ...(options.container === false ? {} : {
      container: {
        id: 'c1', name: 'mlt-demo',
        exec: (argv: readonly string[], execOptions?: ContainerExecOptions) => run({ where: 'container', argv, ...(execOptions?.env ? { env: execOptions.env } : {}) }),
      },
    }),
    ...(options.host ? {
      host: {
        name: options.target ?? 'gpu-box',
        exec: (argv: readonly string[]) => run({ where: 'host', argv }),
        execScript: (script: string, o?: { args?: readonly string[] }) => run({ where: 'host', argv: ['sh', '-c', script, ...(o?.args ?? [])] }),
      },
    } : {}),
    ...(options.ports === false ? {} : {
      ports: {
        async forward(containerPort: number, o?: { localPort?: number }) {
          const wanted = o?.localPort ?? 0;
          const localPort = wanted === 0 ? 40_000 + forwards.length : wanted;
          forwards.push({ containerPort, localPort });
          return { localPort, containerPort, close: async () => {} };
        },
      },
    }),
  };
  return { context, calls, logs, forwards };
}
