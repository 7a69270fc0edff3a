/** The JSON Schema every pipeline file must satisfy before anything is resolved. */
export const STAGE_NAME_PATTERN = '^[a-z][a-z0-9_-]*$';

export const pipelineSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'stages'],
  properties: {
    name: { type: 'string', pattern: STAGE_NAME_PATTERN },
    description: { type: 'string' },
    include: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'pipeline files whose params and stages this one builds on' },
    backend: { enum: ['auto', 'tensorflow', 'wasm', 'cpu'] },
    params: { type: 'object' },
    stages: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: STAGE_NAME_PATTERN },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['uses'],
        properties: {
          uses: { type: 'string', minLength: 1 },
          description: { type: 'string' },
          params: { type: 'object' },
          inputs: {
            type: 'object',
            additionalProperties: { type: 'string', pattern: '^[a-z][a-z0-9_-]*\\.[A-Za-z0-9_-]+$' },
          },
        },
      },
    },
  },
} as const;

export interface PipelineFile {
  name: string;
  description?: string;
  include?: string[];
  backend?: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  params?: Record<string, unknown>;
  stages: Record<string, StageEntry>;
}

export interface StageEntry {
  uses: string;
  description?: string;
  params?: Record<string, unknown>;
  inputs?: Record<string, string>;
}
