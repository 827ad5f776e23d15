// DataStore: reads and writes protobuf messages (LiteralMaps, errors) on a BlobStore, with Flyte's layout:
// `{metadataPrefix}/{project}/{domain}/{execution}/{node}/{attempt}/inputs.pb|outputs.pb|error.pb`, and raw
// task data under a raw-output prefix.
import { fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { LiteralMapSchema, type LiteralMap, type WorkflowExecutionIdentifier } from '../gen/flyteidl/core/index.js';
import { InvalidArgumentError, NestingTooDeepError } from '../errors.js';
import { MAX_MESSAGE_DEPTH } from '../nesting/limits.js';
import { isRecursionLimitError } from '../nesting/read-errors.js';
import { encodeLiteralMap } from '../literals/encode-literal-map.js';
import type { BlobStore } from './blob-store.js';
import type { OperationOptions } from './common.js';

/** Where a DataStore puts things. */
export interface DataStoreLayout {
  /** Prefix of execution metadata (inputs, outputs, errors), e.g. `s3://bucket/metadata`. */
  readonly metadataPrefix: string;
  /** Default prefix of raw task data (files, datasets), e.g. `s3://bucket/raw`. */
  readonly rawOutputPrefix: string;
}

/** The data locations of one node attempt. */
export interface NodeDataPaths {
  /** Directory of the attempt. */
  readonly dir: string;
  /** `inputs.pb`: the resolved input LiteralMap. */
  readonly inputs: string;
  /** `outputs.pb`: the output LiteralMap. */
  readonly outputs: string;
  /** `error.pb`: the ErrorDocument of a failed attempt. */
  readonly error: string;
  /** `futures.pb`: a dynamic task's DynamicJobSpec. */
  readonly futures: string;
  /** `deck.html`: the task's report, if any. */
  readonly deck: string;
}

/**
 * Joins URI parts with single slashes (`joinUri('s3://b/metadata', 'p', 'd')` → `s3://b/metadata/p/d`;
 * `joinUri('mem://', 'a')` → `mem://a`; `joinUri('file:///', 'tmp')` → `file:///tmp`). Each part may hold
 * several segments (`a/b`); empty parts and segments, `.` and `..` are rejected: two different paths never map
 * to one URI, and nothing escapes the base.
 * @throws {InvalidArgumentError} `INVALID_ARGUMENT` naming the bad part.
 */
export function joinUri(base: string, ...parts: readonly string[]): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(base)?.[0] ?? '';
  const rest = base.slice(scheme.length);
  const segments = rest.split('/').filter((s) => s !== '');
  for (const part of parts) {
    for (const segment of part.split('/')) {
      if (segment === '' || segment === '..' || segment === '.') {
        throw new InvalidArgumentError(
          `path part ${JSON.stringify(part)} has an empty, '.' or '..' segment: it would alias or escape ${base}`,
          { id: part },
        );
      }
      segments.push(segment);
    }
  }
  return scheme + (rest.startsWith('/') ? '/' : '') + segments.join('/');
}

function ignore(): void {}

/** The directories of one execution, and the id fields they were made from. */
interface ExecutionPrefixes {
  readonly project: string;
  readonly domain: string;
  readonly name: string;
  readonly metadata: string;
  readonly raw: string;
}

/** A path segment {@link joinUri} keeps as it is: no `/`, not empty, not `.` or `..`. */
const SIMPLE_SEGMENT = /^(?!\.\.?$)[^/]+$/;

/** Reads and writes protobuf documents on a BlobStore with Flyte's layout. */
export class DataStore {
  /** The underlying store. */
  readonly blob: BlobStore;
  /** Where things go. */
  readonly layout: DataStoreLayout;

  /**
   * @param blob the store documents are read from and written to (it must serve the layout's URIs)
   * @param layout where metadata and raw data go
   */
  constructor(blob: BlobStore, layout: DataStoreLayout) {
    this.blob = blob;
    this.layout = layout;
  }

  /** Paths of one attempt of a node (`attempt` counts from 0). Nested nodes pass `nodeId` as `parent/child`. */
  nodePaths(execution: WorkflowExecutionIdentifier, nodeId: string, attempt: number): NodeDataPaths {
    const dir = this.#under(this.#prefixes(execution).metadata, execution, this.layout.metadataPrefix, nodeId, attempt);
    return {
      dir,
      inputs: `${dir}/inputs.pb`,
      outputs: `${dir}/outputs.pb`,
      error: `${dir}/error.pb`,
      futures: `${dir}/futures.pb`,
      deck: `${dir}/deck.html`,
    };
  }

  /** Prefix of raw data written by a node attempt, under `rawOutputPrefix` (or the execution's own prefix). */
  rawOutputPath(execution: WorkflowExecutionIdentifier, nodeId: string, attempt: number, prefix?: string): string {
    if (prefix === undefined) {
      return this.#under(this.#prefixes(execution).raw, execution, this.layout.rawOutputPrefix, nodeId, attempt);
    }
    return joinUri(
      prefix ?? this.layout.rawOutputPrefix,
      execution.project,
      execution.domain,
      execution.name,
      nodeId,
      String(attempt),
    );
  }

  // The engine asks for the paths of every node attempt: the execution's directories are joined (and checked)
  // once per execution id object, and simple node ids are appended without splitting the whole path again.
  // (Made again when the id object was changed since: messages are mutable.)
  readonly #executionPrefixes = new WeakMap<WorkflowExecutionIdentifier, ExecutionPrefixes>();

  #prefixes(execution: WorkflowExecutionIdentifier): ExecutionPrefixes {
    const { project, domain, name } = execution;
    let prefixes = this.#executionPrefixes.get(execution);
    if (
      prefixes === undefined ||
      prefixes.project !== project ||
      prefixes.domain !== domain ||
      prefixes.name !== name
    ) {
      prefixes = {
        project,
        domain,
        name,
        metadata: joinUri(this.layout.metadataPrefix, project, domain, name),
        raw: joinUri(this.layout.rawOutputPrefix, project, domain, name),
      };
      this.#executionPrefixes.set(execution, prefixes);
    }
    return prefixes;
  }

  #under(
    prefix: string,
    execution: WorkflowExecutionIdentifier,
    base: string,
    nodeId: string,
    attempt: number,
  ): string {
    if (SIMPLE_SEGMENT.test(nodeId) && Number.isSafeInteger(attempt) && attempt >= 0) {
      return `${prefix}/${nodeId}/${attempt}`;
    }
    return joinUri(base, execution.project, execution.domain, execution.name, nodeId, String(attempt));
  }

  /** Writes a protobuf message as binary. */
  async write<Desc extends DescMessage>(
    uri: string,
    schema: Desc,
    message: MessageShape<Desc>,
    options?: OperationOptions,
  ): Promise<void> {
    await this.blob.put(uri, toBinary(schema, message), { ...options, contentType: 'application/x-protobuf' });
  }

  /**
   * Reads a protobuf message; rejects `NOT_FOUND` when missing, `NESTING_TOO_DEEP` when it nests deeper than
   * protobuf readers accept (`MAX_MESSAGE_DEPTH`), `INVALID_ARGUMENT` when the object is not that message (corrupt
   * or foreign).
   */
  async read<Desc extends DescMessage>(
    uri: string,
    schema: Desc,
    options?: OperationOptions,
  ): Promise<MessageShape<Desc>> {
    const bytes = await this.blob.get(uri, options);
    try {
      return fromBinary(schema, bytes);
    } catch (error) {
      if (isRecursionLimitError(error)) {
        throw new NestingTooDeepError(
          `${uri} nests deeper than the ${MAX_MESSAGE_DEPTH} messages protobuf readers accept (MAX_MESSAGE_DEPTH): it cannot be read`,
          MAX_MESSAGE_DEPTH,
          { id: uri, cause: error },
        );
      }
      throw new InvalidArgumentError(`${uri} is not a valid ${schema.typeName}`, { id: uri, cause: error });
    }
  }

  /** Writes a LiteralMap (the same bytes as {@link write} with `LiteralMapSchema`, encoded faster). */
  writeLiteralMap(uri: string, literals: LiteralMap, options?: OperationOptions): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = encodeLiteralMap(literals);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.blob.put(uri, bytes, { signal: options?.signal, contentType: 'application/x-protobuf' }).then(ignore);
  }

  /** Reads a LiteralMap. */
  readLiteralMap(uri: string, options?: OperationOptions): Promise<LiteralMap> {
    return this.read(uri, LiteralMapSchema, options);
  }
}
