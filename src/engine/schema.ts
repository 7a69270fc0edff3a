/**
 * TypeBox builders for the schemas the engine validates with ajv: each one is JSON
 * Schema at run time (so `file:line:col` diagnostics work) and a TypeScript type at
 * compile time (`Static<typeof schema>`), so no shape is written twice.
 */
import { Type, type ObjectOptions, type SchemaOptions, type Static, type TProperties, type TSchema, type TUnion, type TUnsafe } from '@sinclair/typebox';

export { Type, type Static, type TSchema } from '@sinclair/typebox';

/** An object that rejects unknown keys, so a misspelt key is an error with a suggestion, not a silent default. */
export function StrictObject<T extends TProperties>(properties: T, options: ObjectOptions = {}) {
  return Type.Object(properties, { ...options, additionalProperties: false });
}

/** One of a fixed list of strings, as `{ enum: [...] }` (ajv then says "must be one of ..."). */
export function StringEnum<const T extends readonly string[]>(values: T, options: SchemaOptions = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, enum: [...values] });
}

/** A map from names (optionally checked against `namePattern`) to values of `value`'s shape. */
export function NamedMap<T extends TSchema>(value: T, options: SchemaOptions & { namePattern?: string; minProperties?: number } = {}): TUnsafe<Record<string, T['static']>> {
  const { namePattern, ...rest } = options;
  return Type.Unsafe<Record<string, T['static']>>({
    type: 'object',
    ...rest,
    ...(namePattern ? { propertyNames: { pattern: namePattern } } : {}),
    additionalProperties: value,
  });
}

/** Any JSON object; its keys are checked elsewhere (a stage's own params schema). */
export function AnyObject(options: SchemaOptions = {}): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({ ...options, type: 'object' });
}

/** `'auto'` or a boolean, defaulting to `'auto'` (polarity, transposition: detect unless told). */
export function AutoOrBoolean(options: SchemaOptions = {}): TUnsafe<'auto' | boolean> {
  return Type.Unsafe<'auto' | boolean>({ oneOf: [{ const: 'auto' }, { type: 'boolean' }], default: 'auto', ...options });
}

/** Exactly one of `variants`, as `{ oneOf: [...] }` (TypeBox's Union emits anyOf, which accepts a value two variants match). */
export function OneOf<T extends TSchema[]>(variants: [...T], options: SchemaOptions = {}): TUnsafe<Static<TUnion<T>>> {
  return Type.Unsafe<Static<TUnion<T>>>({ ...options, oneOf: variants });
}
