// Cancellation: every operation of the memory adapters honours an AbortSignal the way the ports require,
// rejecting with the signal's own reason.

/** Throws the signal's reason when it is aborted (called before any change, so an abort leaves nothing behind). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw signal.reason;
}
