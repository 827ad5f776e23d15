// @flyte-ts/executor: the flyte-ts engine. This file is the package's public API: what it exports is
// supported, nothing else is.
export {
  createEngine,
  Engine,
  type CreateExecutionRequest,
  type EngineEvents,
  type ExecutionTarget,
  type WaitOptions,
} from './engine.js';
export type { DataConfig, EngineConfig, EngineOptions, LeaseConfig } from './config.js';
export { EXECUTOR_ERROR_CODES, ExecutorError, type ExecutorErrorCode } from './errors.js';
export type { ExecutionInputs } from './inputs.js';
export { FunctionTaskPlugin, type FunctionPluginOptions, type FunctionTask } from './plugins/function-plugin.js';
export { WorkerCrashError, WorkerLoadError, type WorkerJob, type WorkerPoolOptions } from './plugins/worker-pool.js';
export { EnvironmentSecrets } from './runtime/environment-secrets.js';
export { StoreScheduler, type SchedulesConfig, type StoreSchedulerOptions } from './scheduler/store-scheduler.js';
export { scheduledExecutionName, scheduleKey } from './scheduler/names.js';
export { parseSchedule, type ScheduleTimes } from './scheduler/schedule.js';
export { UnlimitedResourceManager } from './runtime/unlimited-resources.js';
export { DATASET_CODEC, DATASET_FORMATS } from './data/codec.js';
export {
  DEFAULT_ROWS_PER_FILE,
  readDataset,
  readDatasetRows,
  writeDataset,
  type DatasetFormat,
  type ReadDatasetOptions,
  type ReadDatasetResult,
  type WriteDatasetOptions,
  type WriteDatasetResult,
} from './data/datasets/index.js';
