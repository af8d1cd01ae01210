import * as z from 'zod';
import { messages, routes } from './api.ts';

/**
 * Build time: the zod definitions of api.ts as JSON Schemas for fastify's
 * own validator (ajv) and serializer (fast-json-stringify), and the OpenAPI
 * document @fastify/swagger makes from the same schemas. Run by
 * scripts/relay-api.mjs; the running relay loads only the JSON.
 */
export interface GeneratedRoute {
  method: string;
  url: string;
  schema: { summary: string; params?: JsonSchema; querystring?: JsonSchema; body?: JsonSchema; response: Record<string, JsonSchema> };
}
type JsonSchema = Record<string, unknown>;
export interface GeneratedApi {
  routes: Record<string, GeneratedRoute>;
  messages: Record<string, JsonSchema>;
}

/** Requests are validated as zod would parse them (defaults optional), answers as they leave (output). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'throw' }) as JsonSchema;
  return nullableScalars(optionalUnknowns(rest)) as JsonSchema;
}

/**
 * `anyOf: [{ type: 'string' }, { type: 'null' }]` as `type: ['string', 'null']`: fastify's ajv coerces
 * types (for query strings), and would otherwise turn a null into '' by the first branch.
 */
function nullableScalars(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableScalars);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = nullableScalars(value);
  const branches = out.anyOf as Record<string, unknown>[] | undefined;
  const scalar = branches?.length === 2 && branches[1]!.type === 'null' && Object.keys(branches[1]!).length === 1 ? branches[0]! : undefined;
  if (scalar && ['string', 'number', 'integer', 'boolean'].includes(scalar.type as string)) {
    const { anyOf: _branches, ...rest } = out;
    return { ...rest, ...scalar, type: [scalar.type, 'null'] };
  }
  return out;
}

/** `z.unknown()` accepts undefined: such a property is never required (fast-json-stringify would refuse its absence). */
function optionalUnknowns(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(optionalUnknowns);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = optionalUnknowns(value);
  const properties = out.properties as Record<string, unknown> | undefined;
  if (properties && Array.isArray(out.required)) {
    out.required = (out.required as string[]).filter((name) => Object.keys(properties[name] ?? {}).length > 0);
  }
  return out;
}

export function relayApiSchemas(): GeneratedApi {
  const generated: GeneratedApi = { routes: {}, messages: {} };
  for (const [name, route] of Object.entries(routes)) {
    const definition = route as { method: string; url: string; summary: string; params?: z.ZodType; querystring?: z.ZodType; body?: z.ZodType; response: Record<number, z.ZodType> };
    generated.routes[name] = {
      method: definition.method,
      url: definition.url,
      schema: {
        summary: definition.summary,
        ...(definition.params ? { params: jsonSchema(definition.params, 'input') } : {}),
        ...(definition.querystring ? { querystring: jsonSchema(definition.querystring, 'input') } : {}),
        ...(definition.body ? { body: jsonSchema(definition.body, 'input') } : {}),
        response: Object.fromEntries(Object.entries(definition.response).map(([status, schema]) => [status, jsonSchema(schema, 'output')])),
      },
    };
  }
  for (const [name, schema] of Object.entries(messages)) generated.messages[name] = jsonSchema(schema, 'input');
  return generated;
}

/** The OpenAPI document, by @fastify/swagger from the generated schemas (info.version is filled in at run time). */
export async function relayOpenApi(api: GeneratedApi): Promise<unknown> {
  const [{ default: Fastify }, { default: swagger }] = await Promise.all([import('fastify'), import('@fastify/swagger')]);
  const app = Fastify({ logger: false });
  await app.register(swagger, {
    openapi: {
      info: { title: 'mltoolbox relay', version: '', description: 'Hosts, live metrics, containers and logs. Every route needs `Authorization: Bearer <token>`.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  for (const route of Object.values(api.routes)) {
    app.route({ method: route.method as 'GET', url: route.url, schema: route.schema, handler: async () => ({}) });
  }
  await app.ready();
  const document = app.swagger();
  await app.close();
  return document;
}
