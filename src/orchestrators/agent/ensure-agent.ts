import { describeError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { Host } from '../../services/host/types.ts';
import { agentVersionLine, decideAgent, findLocalAgent, installAgent, probeAgent } from './agent-installer.ts';

export interface AgentSettings {
  auto_install?: boolean;
  install_dir?: string;
}

/** How connect may install: --yes, or a question on the user's terminal (absent without one). */
export interface AgentConsent {
  yes: boolean;
  confirm?: (question: string) => Promise<boolean>;
  /**
   * Remembers a "no" per host and agent version (the state database), so the
   * question is asked once: later connects skip it with the one-line note
   * until a newer mltoolbox brings a new version to ask about.
   */
  declined?: { has(key: string): boolean; add(key: string): void };
}

export interface AgentReport {
  action: 'current' | 'installed' | 'upgraded' | 'skipped' | 'newer-on-host' | 'unsupported' | 'failed';
  /** The executable on the host. */
  path?: string;
  version?: string;
  /** Bytes sent (compressed); 0 when nothing was uploaded. */
  bytes: number;
  ms?: number;
  note?: string;
}

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/**
 * connect's agent step: a missing or older mlt is installed (with consent),
 * a current one costs one round trip, a newer one gets a warning. It never
 * fails connect: a problem becomes a warning and the report says so.
 */
export async function ensureAgent(reporter: Reporter, env: NodeJS.ProcessEnv, host: Host,
  settings: AgentSettings | undefined, consent: AgentConsent): Promise<AgentReport> {
  const hostName = host.name;
  try {
    const local = await findLocalAgent(env);
    if (!local) return { action: 'unsupported', bytes: 0, note: 'no mlt agent is built into this mltoolbox (npm run build:agent)' };
    const remote = await probeAgent(host, settings?.install_dir);
    const decision = decideAgent(local.manifest, remote);
    switch (decision.action) {
      case 'current':
        return { action: 'current', path: remote.path, version: remote.installed!, bytes: 0 };
      case 'unsupported':
        reporter.debug(`agent: ${decision.why}`);
        return { action: 'unsupported', bytes: 0, note: decision.why };
      case 'newer-on-host':
        reporter.warn(`the mlt agent on ${hostName} (${decision.installed}) is newer than this mltoolbox (${local.manifest.version}); leaving it. Upgrade mltoolbox here to match.`);
        return { action: 'newer-on-host', path: remote.path, version: decision.installed, bytes: 0 };
      default: {
        const size = local.manifest.files[remote.arch!]!.gzSize;
        const what = decision.action === 'install' ? `Install the mlt agent on ${hostName} (${remote.path}, ${mib(size)} upload)` : `Upgrade the mlt agent on ${hostName} from ${decision.from} to ${local.manifest.version} (${mib(size)} upload)`;
        const declinedKey = `${hostName} ${local.manifest.version}`;
        const askable = consent.confirm !== undefined && !consent.declined?.has(declinedKey);
        const yes = consent.yes || settings?.auto_install === true || (askable && (await consent.confirm!(`${what}?`)));
        if (!yes) {
          if (askable) consent.declined?.add(declinedKey);
          const asked = consent.confirm !== undefined && !askable ? ' (you said no before; not asked again for this version)' : '';
          reporter.info(`mlt agent not ${decision.action === 'install' ? 'installed' : 'upgraded'} on ${hostName}${asked}: run 'mltoolbox agent install ${hostName}', or connect with --yes (agent.auto_install: true asks never)`);
          return { action: 'skipped', path: remote.path, ...(remote.installed ? { version: remote.installed } : {}), bytes: 0 };
        }
        const done = await reporter.task(`${decision.action === 'install' ? 'Installing' : 'Upgrading'} the mlt agent on ${hostName} (${mib(size)})`, () => installAgent(host, local, remote));
        return { action: decision.action === 'install' ? 'installed' : 'upgraded', path: done.path, version: done.version, bytes: done.bytes, ms: done.ms };
      }
    }
  } catch (error) {
    reporter.warn(`the mlt agent on ${hostName} was not checked or installed: ${describeError(error)}`);
    return { action: 'failed', bytes: 0, note: describeError(error) };
  }
}

export { agentVersionLine };
