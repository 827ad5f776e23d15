// Error classes of @flyte-ts/core. Every error has a stable `code` (part of the public API: match on it,
// never on the message), the id of what was wrong where there is one, and a message that says what to change.

/** Stable error codes raised by `@flyte-ts/core`. */
export const CORE_ERROR_CODES = [
  /** A value does not match its declared Flyte type (`inputs.xs[3]: expected float, got string`). */
  'TYPE_MISMATCH',
  /** An integer does not fit where it must go (outside int64, or outside the safe range of a JS number). */
  'INTEGER_OUT_OF_RANGE',
  /** A value matches several variants of a union type and none is more specific. */
  'AMBIGUOUS_UNION_VALUE',
  /** A literal's shape is not what its declared type requires (e.g. a union literal with an unknown variant). */
  'INVALID_LITERAL',
  /** A type builder was called with arguments that cannot describe a Flyte type. */
  'INVALID_TYPE',
  /** A task, workflow or launch plan definition is malformed (bad name, reserved name, unknown input, ...). */
  'INVALID_DEFINITION',
  /** A task or workflow was called outside a workflow builder, or a builder was used after it finished. */
  'NOT_IN_WORKFLOW',
  /** A binding refers to something it cannot (a promise from another workflow, a missing output, ...). */
  'INVALID_BINDING',
  /** A required input was neither bound nor defaulted. */
  'MISSING_INPUT',
  /** A workflow output is not bound by the workflow's builder. */
  'MISSING_OUTPUT',
  /** A condition or branch is malformed (no case, missing `then`, outputs that differ between cases, ...). */
  'INVALID_BRANCH',
  /** A duration, quantity or schedule string could not be parsed. */
  'INVALID_FORMAT',
  /** The entity asked for does not exist (ports: Store, BlobStore, Catalog). */
  'NOT_FOUND',
  /** An entity with that id exists already with different content (immutable registration, unique names). */
  'ALREADY_EXISTS',
  /** An optimistic-concurrency check failed: the entity changed since it was read. */
  'CONFLICT',
  /** A request argument is malformed (a filter, a sort key, a page token, ...). */
  'INVALID_ARGUMENT',
  /** A backing service is unreachable or failed transiently; the operation may be retried. */
  'UNAVAILABLE',
  /** A file, directory or dataset operation has no blob store, raw-output prefix or dataset codec to use. */
  'NO_DATA_ACCESS',
  /**
   * A value, type, workflow or record nests deeper than every protobuf reader accepts: more than
   * `MAX_NESTING_DEPTH` levels, or a stored record deeper than `MAX_MESSAGE_DEPTH` messages.
   */
  'NESTING_TOO_DEEP',
  /** A stored record cannot be decoded (corrupt, or nested deeper than protobuf readers accept); `id` names it. */
  'UNREADABLE_RECORD',
] as const;

/** One of {@link CORE_ERROR_CODES}. */
export type CoreErrorCode = (typeof CORE_ERROR_CODES)[number];

/** Options accepted by every flyte-ts error. */
export interface FlyteErrorOptions {
  /** Id of the entity (task, workflow, node, variable path) the error is about. */
  readonly id?: string | undefined;
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

/**
 * Base class of every error flyte-ts raises on purpose. `code` is stable across releases;
 * `id` names the entity that was wrong (a task name, a node id, a value path such as `inputs.xs[3]`).
 */
export class FlyteError<C extends string = string> extends Error {
  /** Stable, machine-readable error code. */
  readonly code: C;
  /** Id of the entity the error is about, when there is one. */
  readonly id: string | undefined;

  /**
   * @param code the stable code
   * @param message what is wrong and what to change
   * @param options the id of what was wrong, and the cause
   */
  constructor(code: C, message: string, options: FlyteErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.id = options.id;
  }
}

/**
 * A value does not fit its declared Flyte type, or a literal does not fit the type it is read as.
 * `path` locates the value (`inputs.xs[3]`); the message reads `inputs.xs[3]: expected float, got string`.
 */
export class LiteralTypeError extends FlyteError<
  'TYPE_MISMATCH' | 'INTEGER_OUT_OF_RANGE' | 'AMBIGUOUS_UNION_VALUE' | 'INVALID_LITERAL'
> {
  /** Where the offending value sits, e.g. `inputs.xs[3]` (empty for a top-level value). */
  readonly path: string;
  /** What the type required, e.g. `float`. */
  readonly expected: string;
  /** What was found, e.g. `string`. */
  readonly actual: string;

  /**
   * @param code the stable code
   * @param path where the value sits (`inputs.xs[3]`; empty for a top-level value)
   * @param expected what the type required
   * @param actual what was found
   * @param detail more about why, appended in parentheses
   */
  constructor(
    code: 'TYPE_MISMATCH' | 'INTEGER_OUT_OF_RANGE' | 'AMBIGUOUS_UNION_VALUE' | 'INVALID_LITERAL',
    path: string,
    expected: string,
    actual: string,
    detail?: string,
  ) {
    const where = path === '' ? 'value' : path;
    super(code, `${where}: expected ${expected}, got ${actual}${detail === undefined ? '' : ` (${detail})`}`, {
      id: where,
    });
    this.path = path;
    this.expected = expected;
    this.actual = actual;
  }
}

/** A task, workflow, launch plan or type definition is malformed. */
export class DefinitionError extends FlyteError<
  | 'INVALID_TYPE'
  | 'INVALID_DEFINITION'
  | 'NOT_IN_WORKFLOW'
  | 'INVALID_BINDING'
  | 'MISSING_INPUT'
  | 'MISSING_OUTPUT'
  | 'INVALID_BRANCH'
  | 'INVALID_FORMAT'
> {}

/** True when `error` is a flyte-ts error (of any package) carrying `code`. */
export function isFlyteError(error: unknown, code?: string): error is FlyteError {
  return error instanceof FlyteError && (code === undefined || error.code === code);
}

/** The entity asked for does not exist. */
export class NotFoundError extends FlyteError<'NOT_FOUND'> {
  /**
   * @param message what happened
   * @param options the id of the entity, and the cause
   */
  constructor(message: string, options: FlyteErrorOptions = {}) {
    super('NOT_FOUND', message, options);
  }
}

/** An entity with that id already exists with different content. */
export class AlreadyExistsError extends FlyteError<'ALREADY_EXISTS'> {
  /**
   * @param message what happened
   * @param options the id of the entity, and the cause
   */
  constructor(message: string, options: FlyteErrorOptions = {}) {
    super('ALREADY_EXISTS', message, options);
  }
}

/** The entity changed since it was read (optimistic concurrency); read it again and retry. */
export class ConflictError extends FlyteError<'CONFLICT'> {
  /**
   * @param message what happened
   * @param options the id of the entity, and the cause
   */
  constructor(message: string, options: FlyteErrorOptions = {}) {
    super('CONFLICT', message, options);
  }
}

/** A request argument is malformed. */
export class InvalidArgumentError extends FlyteError<'INVALID_ARGUMENT'> {
  /**
   * @param message what happened
   * @param options the id of the entity, and the cause
   */
  constructor(message: string, options: FlyteErrorOptions = {}) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** A backing service failed transiently; retrying may succeed. */
export class UnavailableError extends FlyteError<'UNAVAILABLE'> {
  /**
   * @param message what happened
   * @param options the id of the entity, and the cause
   */
  constructor(message: string, options: FlyteErrorOptions = {}) {
    super('UNAVAILABLE', message, options);
  }
}

/**
 * Something nests deeper than every protobuf reader accepts: a value, type or workflow with more than
 * `MAX_NESTING_DEPTH` levels, or a record deeper than `MAX_MESSAGE_DEPTH` messages. Refused where it enters,
 * before anything is written; `id` names it (a value path such as `inputs.x`, a node id, a record).
 */
export class NestingTooDeepError extends FlyteError<'NESTING_TOO_DEEP'> {
  /** The limit that was exceeded (levels, or messages for a record). */
  readonly limit: number;

  /**
   * @param message what nests too deep and what to change
   * @param limit the limit that was exceeded
   * @param options the id of what nests too deep, and the cause
   */
  constructor(message: string, limit: number, options: FlyteErrorOptions = {}) {
    super('NESTING_TOO_DEEP', message, options);
    this.limit = limit;
  }
}

/**
 * A stored record cannot be decoded: it is corrupt, or nests deeper than protobuf readers accept (written by an
 * older version that did not refuse it). Only the call reading that record fails; lists leave it out of their
 * items and report it in `Page.unreadable`. `id` names the record.
 */
export class UnreadableRecordError extends FlyteError<'UNREADABLE_RECORD'> {
  /**
   * @param message which record and why
   * @param options the id of the record, and the decoding error as cause
   */
  constructor(message: string, options: FlyteErrorOptions = {}) {
    super('UNREADABLE_RECORD', message, options);
  }
}
