// Options shared by every port operation.

/** Options every asynchronous port operation accepts. */
export interface OperationOptions {
  /**
   * Aborts the operation: it rejects with the signal's reason. An aborted write of one entity (an object, a
   * commit) leaves nothing half-written; operations on several entities say what an abort may leave.
   */
  readonly signal?: AbortSignal | undefined;
}
