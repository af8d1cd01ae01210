// Writes the relay's generated API files from the zod definitions in
// src/relay/server/api.ts: the JSON Schemas fastify validates with, and the
// OpenAPI document (docs/relay.md#memory: zod never loads in the running relay).
// `npm run build` runs it; test/unit/relay/api.test.ts checks they are in step.
import { writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const { relayApiSchemas, relayOpenApi } = await import(`${root}src/relay/server/api-generate.ts`);
const api = relayApiSchemas();
writeFileSync(`${root}src/relay/server/api.generated.json`, `${JSON.stringify(api, null, 2)}\n`);
writeFileSync(`${root}src/relay/server/openapi.generated.json`, `${JSON.stringify(await relayOpenApi(api), null, 2)}\n`);
