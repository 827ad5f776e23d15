// Cache keys of cached tasks, derived exactly as Flyte's catalog client does so that keys agree with a Flyte
// deployment: dataset `flyte_task-<task name>` versioned `<cache version>-<inputs hash:8>-<outputs hash:8>`,
// tag `flyte_cached-<hash of the input values>`.
import { create } from '@bufbuild/protobuf';
import { DatasetIDSchema } from './gen/flyteidl/datacatalog/index.js';
import {
  VariableMapSchema,
  type Identifier,
  type LiteralMap,
  type TypedInterface,
  type VariableMap,
} from './gen/flyteidl/core/index.js';
import { InvalidArgumentError } from './errors.js';
import { hashLiteralMap, hashMessage } from './literals/hash.js';
import type { CatalogKey } from './ports/catalog.js';

/** Prefix of cache tags. */
export const CACHED_TAG_PREFIX = 'flyte_cached';
/** Prefix of the dataset name of a task. */
export const TASK_DATASET_PREFIX = 'flyte_task';

function variableMapHash(map: VariableMap | undefined): string {
  const variables = map !== undefined && Object.keys(map.variables).length > 0 ? map : create(VariableMapSchema);
  return hashMessage(VariableMapSchema, variables).toString('base64url').slice(0, 8);
}

/** `<inputs hash:8>-<outputs hash:8>`: Flyte's interface signature hash of a task. */
export function interfaceSignatureHash(iface: TypedInterface | undefined): string {
  return `${variableMapHash(iface?.inputs)}-${variableMapHash(iface?.outputs)}`;
}

/** The cache tag of input values: `flyte_cached-<hash>`, ignoring the named inputs. */
export function cacheTag(inputs: LiteralMap | undefined, ignore: readonly string[] = []): string {
  return `${CACHED_TAG_PREFIX}-${hashLiteralMap(inputs, { ignore })}`;
}

/** What identifies a cached task's results. */
export interface CachedTaskSignature {
  /** The task's id (project, domain and name are used; the version is not: versions share a cache). */
  readonly id: Identifier;
  /** The task's cache version (TaskMetadata.discovery_version); must not be blank. */
  readonly cacheVersion: string;
  /** The task's interface. */
  readonly interface: TypedInterface | undefined;
  /** Inputs left out of the cache key (TaskMetadata.cache_ignore_input_vars). */
  readonly ignoreInputs?: readonly string[];
}

/**
 * The catalog key of a cached task run on `inputs`.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` when the cache version is blank.
 */
export function catalogKeyForTask(task: CachedTaskSignature, inputs: LiteralMap | undefined): CatalogKey {
  const cacheVersion = task.cacheVersion.replace(/^ +| +$/g, '');
  if (cacheVersion === '') {
    throw new InvalidArgumentError(`task ${task.id.name} is cached but has an empty cache version`, {
      id: task.id.name,
    });
  }
  return {
    dataset: create(DatasetIDSchema, {
      project: task.id.project,
      domain: task.id.domain,
      name: `${TASK_DATASET_PREFIX}-${task.id.name}`,
      version: `${cacheVersion}-${interfaceSignatureHash(task.interface)}`,
      org: task.id.org,
    }),
    tag: cacheTag(inputs, task.ignoreInputs),
  };
}
