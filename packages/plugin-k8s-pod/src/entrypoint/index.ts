// @flyte-ts/plugin-k8s-pod/entrypoint: `flyte-ts-execute`, what pods of TypeScript `task()` definitions run (the
// package's bin calls `runExecute`). It loads the blob-store adapters it needs by URI scheme, on first use.
export { EXECUTE_USAGE, ExecuteUsageError, parseExecuteArgs, type ExecuteArgs } from './args.js';
export {
  BLOB_ROOT_ENV,
  BlobStores,
  BlobStoreUnavailableError,
  S3_ENDPOINT_ENV,
  type ExecuteEnv,
} from './blob-stores.js';
export {
  EXIT_NO_ERROR_DOCUMENT,
  EXIT_TASK_FAILED,
  EXIT_USAGE,
  runExecute,
  TASK_NOT_FOUND,
  type ExecutableTask,
  type RunExecuteOptions,
} from './run.js';
export {
  COPILOT_ERROR_FILE,
  COPILOT_MAX_PRIMITIVE_BYTES,
  COPILOT_USAGE,
  runCopilot,
  type RunCopilotOptions,
} from './copilot.js';
