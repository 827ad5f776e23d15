// Telling a protobuf decoding error caused by nesting apart from other decoding errors.

/**
 * True when `error` is protobuf-es refusing a message nested deeper than its `recursionLimit` (`fromBinary`,
 * `fromJson`): the bytes may be intact, but no reader with the default limit can decode them.
 */
export function isRecursionLimitError(error: unknown): boolean {
  return error instanceof Error && /maximum recursion depth/.test(error.message);
}
