import type { Plugin } from '../plugin-api/index.ts';
import { gpuMetricsPlugin } from './gpu-metrics/index.ts';
import { rayPlugin } from './ray/index.ts';
import { createSlackPlugin } from './slack/index.ts';
import { wandbPlugin } from './wandb/index.ts';

/**
 * The plugins that ship with mltoolbox. Each is an ordinary plugin written
 * against the public API only (no service or orchestrator imports); the
 * plugin host enables one when `plugins:` names it.
 */
export const builtinPlugins: Plugin[] = [rayPlugin, wandbPlugin, gpuMetricsPlugin, createSlackPlugin()];
