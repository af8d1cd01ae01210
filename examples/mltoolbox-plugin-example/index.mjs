// An example mltoolbox plugin. Plain JavaScript, no dependencies: the types
// come from `mltoolbox/plugin` through JSDoc, so an editor checks this file
// when mltoolbox is installed next to it, and nothing is imported at run time.
import { appendFile } from 'node:fs/promises';

/** @typedef {import('mltoolbox/plugin').Plugin<{ greeting?: string, record_file?: string }>} ExamplePlugin */

/**
 * Appends one JSON line per hook call to the file named by `record_file`
 * (in the `example:` section or the plugin entry's options), so a test can see
 * exactly which hooks ran, in which order, with what.
 * @param {string} hook
 * @param {Record<string, unknown>} details
 * @param {import('mltoolbox/plugin').PluginContext<{ greeting?: string, record_file?: string }>} context
 */
async function record(hook, details, context) {
  const file = context.config.options.record_file ?? context.config.section?.record_file;
  if (typeof file !== 'string') return;
  await appendFile(file, `${JSON.stringify({ hook, ...details })}\n`);
}

/** @type {ExamplePlugin} */
const plugin = {
  name: 'example',
  version: '1.1.0',
  apiVersion: '1.1',
  description: 'Records every hook it receives; says hello.',
  config: {
    // A plain JSON Schema: no schema library needed. (A zod 4 schema works too.)
    schema: {
      type: 'object',
      properties: {
        greeting: { type: 'string', description: 'What `example hello` prints.' },
        record_file: { type: 'string', description: 'Append one JSON line per hook call to this file.' },
      },
      additionalProperties: false,
    },
  },
  commands: [
    {
      name: 'example hello',
      summary: 'Print a greeting',
      args: [{ name: 'NAME', description: 'who to greet' }],
      run: (input, context) => {
        const greeting = context.config.section?.greeting ?? 'hello';
        const name = typeof input.args.NAME === 'string' ? input.args.NAME : 'world';
        return { result: { greeting, name }, human: `${greeting}, ${name}!` };
      },
    },
  ],
  hooks: {
    configLoaded: async ({ config }, context) => {
      await record('configLoaded', { project: /** @type {{ name?: string }} */ (config.project)?.name ?? null }, context);
      return undefined; // unchanged; return a changed copy to adjust the config
    },
    beforeSync: async ({ sync }, context) => record('beforeSync', { target: sync.target, dryRun: sync.dryRun }, context),
    afterSync: async ({ sync, result }, context) => record('afterSync', { target: sync.target, files: result.filesTransferred }, context),
    containerStart: {
      order: 'pre',
      handler: async ({ container }, context) => {
        // The context runs commands in the dev container (and on the host for remote targets).
        const probe = await context.container?.exec(['sh', '-c', 'echo from-container']);
        await record('containerStart', { action: container.action, exec: probe?.stdout.trim() ?? null, host: Boolean(context.host), role: context.project.role ?? null }, context);
      },
    },
    afterFetch: async ({ fetch, result }, context) => record('afterFetch', { target: fetch.target, paths: fetch.paths, files: result.filesTransferred, container: Boolean(context.container) }, context),
    connectComplete: async ({ target, forwards }, context) => record('connectComplete', { target, forwards: forwards.length }, context),
    containerStop: async ({ action }, context) => record('containerStop', { action }, context),
    shutdown: async ({ command, ok }, context) => record('shutdown', { command, ok }, context),
  },
};

export default plugin;
