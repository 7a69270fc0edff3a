/** The JSON Schema every pipeline file must satisfy before anything is resolved, and the types derived from it. */
import { AnyObject, NamedMap, StrictObject, StringEnum, Type, type Static } from './schema.js';
import { EXECUTOR_KINDS } from './executor-kinds.js';

/** A stage (and pipeline) name: lower case, digits, `-` and `_`. */
export const STAGE_NAME = '[a-z][a-z0-9_-]*';
export const STAGE_NAME_PATTERN = `^${STAGE_NAME}$`;
/** An input reference, `<stage>.<output>`. */
const OUTPUT_REF_PATTERN = `^${STAGE_NAME}\\.[A-Za-z0-9_-]+$`;

export const stageEntrySchema = StrictObject({
  uses: Type.String({ minLength: 1 }),
  description: Type.Optional(Type.String()),
  params: Type.Optional(AnyObject()),
  inputs: Type.Optional(NamedMap(Type.String({ pattern: OUTPUT_REF_PATTERN }))),
  resources: Type.Optional(StrictObject({
    cpu: Type.Optional(Type.Integer({ minimum: 1, description: 'cores the stage keeps busy; runs in parallel share the machine\'s cores' })),
  })),
  mutex: Type.Optional(Type.String({ pattern: STAGE_NAME_PATTERN, description: 'stages naming the same group never run at the same time, in any process of this workspace' })),
});

export const pipelineSchema = StrictObject({
  name: Type.String({ pattern: STAGE_NAME_PATTERN }),
  description: Type.Optional(Type.String()),
  include: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'pipeline files whose params and stages this one builds on' })),
  backend: Type.Optional(StringEnum(['auto', 'tensorflow', 'wasm', 'cpu'], { description: 'passed to stage environments; the tfjs layer reads it' })),
  executor: Type.Optional(StringEnum([...EXECUTOR_KINDS], { description: 'where stages run: in the run\'s process, or on workers through a BullMQ queue (the Redis URL comes from --redis or INKFLOW_REDIS_URL)' })),
  params: Type.Optional(AnyObject()),
  stages: NamedMap(stageEntrySchema, { namePattern: STAGE_NAME_PATTERN, minProperties: 1 }),
});

export type PipelineFile = Static<typeof pipelineSchema>;
export type StageEntry = Static<typeof stageEntrySchema>;
