// The Flyte IDL (flyteidl v1) as protobuf-es messages, one namespace per proto package,
// so that no user imports a generated path: `idl.core.TaskTemplate`, `idl.admin.LaunchPlanSpecSchema`, ...

/** `flyteidl.core`: literals, types, interfaces, tasks, workflows, compiled closures, identifiers. */
export * as core from '../gen/flyteidl/core/index.js';
/** `flyteidl.admin`: FlyteAdmin's entities (TaskSpec, WorkflowSpec, LaunchPlan, Execution, ...). */
export * as admin from '../gen/flyteidl/admin/index.js';
/** `flyteidl.event`: workflow, node and task execution events. */
export * as event from '../gen/flyteidl/event/index.js';
/** `flyteidl.plugins`: plugin custom configs (SparkJob, QuboleHiveJob, ArrayJob, ...). */
export * as plugins from '../gen/flyteidl/plugins/index.js';
/** `datacatalog`: Data Catalog datasets, artifacts, tags and reservations. */
export * as datacatalog from '../gen/flyteidl/datacatalog/index.js';
/** `flyteidl.cacheservice`: the cache service's messages. */
export * as cacheservice from '../gen/flyteidl/cacheservice/index.js';
/** `google.protobuf` well-known types used by the IDL (Timestamp, Duration, Struct, ...). */
export * as wkt from '@bufbuild/protobuf/wkt';
