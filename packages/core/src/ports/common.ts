// Options shared by every port operation.

/** Options every asynchronous port operation accepts. */
export interface OperationOptions {
  /** Aborts the operation; an aborted operation rejects with the signal's reason and leaves no partial write. */
  readonly signal?: AbortSignal | undefined;
}
