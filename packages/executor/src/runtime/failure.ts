// NodeFailure: how node handlers and the runtime report a failure of a node or task attempt.
import { create } from '@bufbuild/protobuf';
import { idl, timestampFromMs } from '@flyte-ts/core';

/** Error code of an attempt that exceeded its timeout. */
export const TIMEOUT_CODE = 'TimeoutExceeded';

/** Who is to blame for a failure: it decides which retry budget it counts against. */
export type FailureKind = 'user' | 'system';

/** A failure of a node (or of one attempt), with Flyte's error code and kind. */
export class NodeFailure extends Error {
  /** Flyte-style error code (`OutputsNotFound`, `USER:ValueError`, `TimeoutExceeded`, ...). */
  readonly code: string;
  /** Whose failure it is. */
  readonly kind: FailureKind;
  /** Whether another attempt may succeed (false: the node fails whatever its retries). */
  readonly retryable: boolean;

  /**
   * @param code Flyte-style error code
   * @param message what happened
   * @param kind whose failure it is
   * @param retryable whether another attempt may succeed
   */
  constructor(code: string, message: string, kind: FailureKind, retryable = false) {
    super(message);
    this.name = 'NodeFailure';
    this.code = code;
    this.kind = kind;
    this.retryable = retryable;
  }
}

/** The flyteidl ExecutionError of a failure. */
export function executionError(
  failure: { readonly code: string; readonly message: string; readonly kind: FailureKind },
  at: Date,
  errorUri = '',
): idl.core.ExecutionError {
  return create(idl.core.ExecutionErrorSchema, {
    code: failure.code,
    message: failure.message,
    kind: failure.kind === 'user' ? idl.core.ExecutionError_ErrorKind.USER : idl.core.ExecutionError_ErrorKind.SYSTEM,
    errorUri,
    timestamp: timestampFromMs(at.getTime()),
  });
}

/** A failure from an unexpected exception (a bug or a broken adapter): a system error. */
export function failureFrom(error: unknown): NodeFailure {
  if (error instanceof NodeFailure) return error;
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'Unknown';
  const message = error instanceof Error ? error.message : String(error);
  return new NodeFailure(`SYSTEM:${code}`, message, 'system', true);
}
