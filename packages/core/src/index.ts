// @flyte-ts/core: the Flyte IDL, the type system, the typed authoring DSL and the ports of flyte-ts.
// This file is the package's public API: what it exports is supported, nothing else is.

export * as idl from './idl/index.js';

export {
  AlreadyExistsError,
  ConflictError,
  CORE_ERROR_CODES,
  DefinitionError,
  FlyteError,
  InvalidArgumentError,
  isFlyteError,
  LiteralTypeError,
  NestingTooDeepError,
  NotFoundError,
  UnavailableError,
  UnreadableRecordError,
  type CoreErrorCode,
  type FlyteErrorOptions,
} from './errors.js';

export {
  describeIdentifier,
  executionId,
  formatExecutionId,
  formatIdentifier,
  formatNodeExecutionId,
  formatTaskExecutionId,
  launchPlanId,
  nodeExecutionId,
  sameIdentifier,
  taskId,
  workflowId,
  type EntityIdParts,
} from './identifiers.js';

// Type system
export { t, typeFromLiteralType, type TypeFromLiteralTypeOptions } from './types/t.js';
export type {
  AcceptsOf,
  AnyFlyteType,
  Bindable,
  BindingShapeOf,
  Empty,
  FlyteType,
  InputOf,
  InputsOf,
  KindOf,
  OptionalKeys,
  TypeMap,
  ValueOf,
  ValuesOf,
} from './types/flyte-type.js';
export { INT64_MAX, INT64_MIN, type StructOptions } from './types/primitives.js';
export { flytekitVariantTag } from './types/containers.js';
export type { BlobInput, BlobOptions, FlyteSchema, SchemaColumnType, StructuredDatasetOptions } from './types/data.js';

// Files, directories and datasets: handles, returnable forms and the data access of a running task
export type { FlyteDirectory, FlyteFile, StructuredDataset } from './data/handles.js';
export type {
  DataReference,
  DatasetContent,
  DatasetInput,
  DirectoryInput,
  FileContent,
  FileInput,
  LocalData,
} from './data/sources.js';
export {
  DataAccessError,
  NO_DATA_ACCESS,
  withDataAccess,
  type DataAccess,
  type DatasetCodec,
  type DatasetColumn,
  type DatasetColumnKind,
  type DatasetRow,
  type DatasetTable,
} from './data/access.js';
export { areTypesCastable, isNoneType, isOptionalType, literalTypesEqual } from './types/castability.js';
export { describeLiteral, describeLiteralType, describeValue } from './types/describe.js';
export {
  literalTypeForLiteral,
  literalTypeForPrimitive,
  literalTypeForScalar,
  literalTypeText,
  MESSAGEPACK_TAG,
} from './types/infer.js';

// Nesting: how deep values, types and workflows may nest so that every protobuf reader reads them back
export { MAX_MESSAGE_DEPTH, MAX_NESTING_DEPTH } from './nesting/limits.js';
export {
  checkJsonNesting,
  checkLiteralMapNesting,
  checkLiteralNesting,
  checkLiteralTypeNesting,
  checkParametersNesting,
  checkTaskNesting,
  checkWorkflowNesting,
  jsonNesting,
  literalNesting,
  literalTypeNesting,
} from './nesting/checks.js';
export { checkMessageDepth, messageDepth } from './nesting/message-depth.js';
export { checkTransitionDepth } from './nesting/transition-depth.js';

// Literals
export { fromLiteralMap, toLiteralMap, type LiteralMapOptions } from './literals/literal-map.js';
export { durationFromMs, msFromDuration, msFromTimestamp, timestampFromMs } from './literals/time.js';
/**
 * Binary encoding of a LiteralMap; byte-for-byte what `toBinary(LiteralMapSchema, map)` gives, several times
 * faster for literals of primitives, collections and maps (other literals are encoded by `toBinary`).
 */
export { encodeLiteralMap } from './literals/encode-literal-map.js';
export {
  hashifyLiteral,
  hashLiteralMap,
  hashMessage,
  objectHash,
  type HashLiteralMapOptions,
} from './literals/hash.js';
export {
  CACHED_TAG_PREFIX,
  cacheTag,
  catalogKeyForTask,
  interfaceSignatureHash,
  TASK_DATASET_PREFIX,
  type CachedTaskSignature,
} from './cache-key.js';

// Ports
export type { OperationOptions } from './ports/common.js';
export type {
  CommitResult,
  CreateResult,
  EntityBatch,
  EntityBatchResult,
  ExecutionEvent,
  ExecutionRecord,
  ExecutionTransition,
  Guarded,
  Lease,
  NodeExecutionRecord,
  ProjectDomainSettings,
  Registered,
  ScheduleState,
  Store,
  TaskExecutionRecord,
} from './ports/store.js';
export {
  checkExecutionNotices,
  EXECUTION_NOTICE_KINDS,
  isExecutionNoticeKind,
  type ExecutionNotice,
  type ExecutionNoticeKind,
  type ExecutionNoticeListener,
  type NoticeSubscription,
  type StoreNotifications,
} from './ports/store-notifications.js';
export { InProcessNotifications } from './ports/in-process-notifications.js';
export {
  DEFAULT_PAGE_LIMIT,
  FILTER_FUNCTIONS,
  formatFilters,
  MAX_PAGE_LIMIT,
  parseFilters,
  resolvePageLimit,
  resolveSort,
  type Filter,
  type FilterFunction,
  type ListQuery,
  type Page,
  type SortDirection,
  type SortKeys,
} from './ports/list-query.js';
export {
  checkFilterFunction,
  FILTER_VALUE_KINDS,
  parseFilterValue,
  parseRfc3339,
  parseRfc3339Nanos,
  type FilterValueKind,
} from './ports/filter-values.js';
export type {
  BlobBody,
  BlobInfo,
  BlobPage,
  BlobStore,
  ListBlobsOptions,
  PutOptions,
  SignedUrlOptions,
} from './ports/blob-store.js';
export { DataStore, joinUri, type DataStoreLayout, type NodeDataPaths } from './ports/data-store.js';
export type { Catalog, CatalogEntry, CatalogKey, CatalogPutOptions, ReservationResult } from './ports/catalog.js';
export { systemClock, type Clock } from './ports/clock.js';
export type {
  FireHandler,
  ScheduledFire,
  Scheduler,
  SchedulerListener,
  ScheduleUpsertOptions,
  SkippedFires,
} from './ports/scheduler.js';
export type { AllocationStatus, ResourceManager } from './ports/resource-manager.js';
export type { EventSink } from './ports/event-sink.js';
export {
  PLUGIN_PHASES,
  type ExternalResource,
  type PluginError,
  type PluginPhase,
  type PluginTransition,
  type SecretProvider,
  type TaskContext,
  type TaskExecutionMetadata,
  type TaskInputs,
  type TaskOutputs,
  type TaskPlugin,
} from './ports/task-plugin.js';

// Authoring DSL
export {
  DEFAULT_TASK_IMAGE,
  FUNCTION_TASK_TYPE,
  task,
  type TaskCacheConfig,
  type TaskConfig,
  type TaskDefinition,
  type TaskFunction,
  type TaskResult,
  type TaskRunContext,
} from './dsl/task.js';
export {
  workflow,
  type FailurePolicy,
  type WorkflowBuilder,
  type WorkflowConfig,
  type WorkflowDefinition,
  type WorkflowInputs,
  type WorkflowOutputs,
} from './dsl/workflow.js';
export {
  launchPlan,
  type CronScheduleConfig,
  type LaunchPlanConfig,
  type LaunchPlanDefinition,
  type NotificationConfig,
  type NotificationPhase,
  type RateScheduleConfig,
  type ScheduleConfig,
} from './dsl/launch-plan.js';
export {
  conditional,
  type BranchCase,
  type ConditionalCases,
  type ConditionalStart,
  type PendingCase,
} from './dsl/conditional.js';
export { map, type MapInputs, type MapOptions, type MapOutputs } from './dsl/map.js';
export { dynamic, type DynamicBuilder, type DynamicExpansion, type DynamicTaskDefinition } from './dsl/dynamic.js';
export { approve, sleep, waitForInput, type GateOptions } from './dsl/gate.js';
export {
  referenceLaunchPlan,
  referenceTask,
  type ReferenceConfig,
  type ReferenceLaunchPlan,
  type ReferenceTask,
} from './dsl/reference.js';
export {
  serialize,
  subworkflowTemplates,
  workflowClosure,
  type Entity,
  type SerializedEntities,
} from './dsl/serialize.js';
export {
  and,
  or,
  type OutputPromise,
  type AttributeStep,
  type BooleanExpression,
  type ComparisonOperator,
  type ComparisonValue,
  type Operand,
} from './dsl/promise.js';
export type {
  CallableEntity,
  CallArgs,
  CallInputs,
  LaunchPlanLike,
  NodeHandle,
  NodeOutputs,
  NodeOverrides,
  SerializationSettings,
  TaskLike,
  WorkflowLike,
} from './dsl/entities.js';
export {
  isKubernetesQuantity,
  parseDuration,
  type DurationInput,
  type ResourceRequirements,
  type ResourceSpec,
  type SecretRequest,
} from './dsl/options.js';
export { VERSION } from './version.js';
export type { ListType, MapType, OptionalType } from './types/flyte-type.js';
