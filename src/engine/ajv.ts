import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { didYouMean } from '../util/text.js';
import type { YamlSource } from './yaml-source.js';
import type { Diagnostic } from '../errors.js';

const Ajv = AjvModule.default ?? AjvModule;
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
const compiled = new WeakMap<object, ValidateFunction>();

export function compileSchema(schema: object): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/**
 * Validates `value` (found at `basePath` in `source`) and turns ajv's errors into
 * `file:line:col` diagnostics with a "did you mean" for misspelt keys.
 */
export function validateAt(schema: object, value: unknown, source: YamlSource, basePath: (string | number)[]): Diagnostic[] {
  const validate = compileSchema(schema);
  if (validate(value)) return [];
  return dedupe(validate.errors ?? []).map((error) => describe(error, source, basePath));
}

function dedupe(errors: ErrorObject[]): ErrorObject[] {
  // oneOf/anyOf produce one error per branch; keep the first per location and keyword.
  const seen = new Set<string>();
  return errors.filter((e) => {
    const id = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function describe(error: ErrorObject, source: YamlSource, basePath: (string | number)[]): Diagnostic {
  const path = [...basePath, ...error.instancePath.split('/').slice(1).map(unescapePointer)];
  const label = path.length ? path.join('.') : 'file';
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(error.params.additionalProperty);
      const allowed = Object.keys((error.parentSchema as { properties?: object })?.properties ?? {});
      return {
        where: source.locate([...path, key], true),
        message: `unknown key "${key}" in ${label}${didYouMean(key, allowed)}; allowed: ${allowed.join(', ')}`,
      };
    }
    case 'required':
      return { where: source.locate(path), message: `${label} is missing required key "${error.params.missingProperty}"` };
    case 'enum':
      return {
        where: source.locate(path),
        message: `${label} must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'propertyNames':
      return { where: source.locate(path), message: `${label} has an invalid name: ${error.message}` };
    default:
      return { where: source.locate(path), message: `${label} ${error.message}` };
  }
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
