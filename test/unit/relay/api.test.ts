import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { relayApiSchemas, relayOpenApi } from '../../../src/relay/server/api-generate.ts';
import { routes } from '../../../src/relay/server/api.ts';

const generated = (name: string) => new URL(`../../../src/relay/server/${name}`, import.meta.url);

describe('relay API: JSON Schemas and OpenAPI generated from the zod definitions', () => {
  it('api.generated.json and openapi.generated.json are in step with api.ts (MLT_UPDATE_SNAPSHOTS=1, or npm run build, to regenerate)', async () => {
    const api = relayApiSchemas();
    const files = { 'api.generated.json': api, 'openapi.generated.json': await relayOpenApi(api) };
    for (const [name, value] of Object.entries(files)) {
      const actual = `${JSON.stringify(value, null, 2)}\n`;
      if (process.env.MLT_UPDATE_SNAPSHOTS === '1') writeFileSync(generated(name), actual);
      assert.equal(readFileSync(generated(name), 'utf8'), actual, `${name} is stale: run node scripts/relay-api.mjs`);
    }
  });

  it('the OpenAPI document lists every route of api.ts, with its parameters and a bearer token', async () => {
    const document = await relayOpenApi(relayApiSchemas()) as { security: unknown; paths: Record<string, Record<string, { parameters?: { name: string }[] }>> };
    assert.deepEqual(document.security, [{ bearer: [] }]);
    for (const route of Object.values(routes)) {
      const path = route.url.replace(/:(\w+)/g, '{$1}');
      assert.ok(document.paths[path]?.[route.method.toLowerCase()], `${route.method} ${path} missing`);
    }
    assert.deepEqual(document.paths['/api/v1/hosts/{host}/containers/{container}/logs']!.get!.parameters!.map((p) => p.name).sort(), ['container', 'host', 'tail']);
  });

  it('requests are schemas of what zod parses (defaults optional), answers of what leaves (unknown never required)', () => {
    const api = relayApiSchemas();
    const exec = api.routes.exec!.schema.body as { required: string[]; properties: Record<string, { default?: unknown }> };
    assert.deepEqual(exec.required, ['argv']);
    assert.equal(exec.properties.timeoutMs!.default, 60_000);
    const operation = api.routes.operation!.schema.response['200'] as { required: string[] };
    assert.ok(!operation.required.includes('result'));
    assert.ok(operation.required.includes('state'));
    assert.ok(!JSON.stringify(api).includes('$schema'));
  });
});
