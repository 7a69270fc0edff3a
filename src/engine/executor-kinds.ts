/** Where a pipeline's stages can run: the values of a pipeline's `executor:` and of `--executor`. */
export const EXECUTOR_KINDS = ['in-process', 'bullmq'] as const;
export type ExecutorKind = (typeof EXECUTOR_KINDS)[number];
