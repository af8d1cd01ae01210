import * as z from 'zod';
import type { JsonSchemaObject, PluginSchema, StandardSchemaV1 } from '../../plugin-api/index.ts';

export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const standard = (value as { '~standard'?: { validate?: unknown } } | null)?.['~standard'];
  return typeof standard === 'object' && standard !== null && typeof standard.validate === 'function';
}

/** Its JSON Schema without the `$schema` header, or undefined when the schema cannot say. */
function jsonSchemaOf(schema: StandardSchemaV1): Record<string, unknown> | undefined {
  try {
    const json = schema['~standard'].jsonSchema?.input({ target: 'draft-2020-12' });
    if (!json || typeof json !== 'object') return undefined;
    const { $schema: _ignored, ...rest } = json;
    return rest;
  } catch {
    return undefined;
  }
}

/**
 * Turns a plugin's config schema into a zod schema the config loader embeds
 * as the plugin's top-level section:
 * - our own zod instance (built-in plugins): embedded as is, so problems read
 *   exactly like the core's (unknown-key suggestions included);
 * - any other Standard Schema (an external plugin's zod 4, valibot, arktype):
 *   validated through `~standard.validate`, each issue mapped to its path so
 *   the loader can point at file:line:column; its JSON Schema (Standard JSON
 *   Schema) is attached for `mltoolbox config schema`;
 * - a plain JSON Schema object: converted with z.fromJSONSchema.
 */
export function sectionSchema(schema: PluginSchema, pluginName: string, options: { trusted: boolean }): z.ZodType {
  const description = `Settings of the ${pluginName} plugin.`;
  if (options.trusted && schema instanceof z.ZodType) return schema.optional();
  if (isStandardSchema(schema)) {
    const meta = jsonSchemaOf(schema) ?? {};
    return z
      .unknown()
      .superRefine((value, context) => {
        if (value === undefined) return;
        let result: ReturnType<StandardSchemaV1['~standard']['validate']>;
        try {
          result = schema['~standard'].validate(value);
        } catch (error) {
          context.addIssue({ code: 'custom', message: `the ${pluginName} plugin's schema threw: ${error instanceof Error ? error.message : String(error)}` });
          return;
        }
        if (result instanceof Promise) {
          context.addIssue({ code: 'custom', message: `the ${pluginName} plugin's config schema is asynchronous; mltoolbox needs a synchronous schema` });
          return;
        }
        for (const issue of result.issues ?? []) {
          const path = (issue.path ?? []).map((part) => (typeof part === 'object' && part !== null ? part.key : part)).filter((p): p is string | number => typeof p === 'string' || typeof p === 'number');
          context.addIssue({ code: 'custom', path, message: issue.message });
        }
      })
      .meta({ description, ...meta });
  }
  return fromJsonSchema(schema, pluginName).optional();
}

function fromJsonSchema(schema: JsonSchemaObject, pluginName: string): z.ZodType {
  try {
    const converted = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    return typeof schema.description === 'string' ? converted : converted.describe(`Settings of the ${pluginName} plugin.`);
  } catch (error) {
    throw new Error(`its config.schema is not a JSON Schema mltoolbox understands: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
