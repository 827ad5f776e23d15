// Conversions between milliseconds and protobuf Timestamps and Durations, in one place: seconds and nanos
// normalized the way protobuf requires (nanos in [0, 1e9) for timestamps; same sign as seconds, |nanos| < 1e9
// for durations).
import type { Duration, Timestamp } from '@bufbuild/protobuf/wkt';

/** The Timestamp of a time in milliseconds since the epoch. */
export function timestampFromMs(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  let nanos = Math.round((ms - seconds * 1000) * 1_000_000);
  let s = seconds;
  if (nanos >= 1_000_000_000) {
    s += 1;
    nanos -= 1_000_000_000;
  }
  // A literal message (what `create` returns, without walking the schema): the engine makes several per node.
  return { $typeName: 'google.protobuf.Timestamp', seconds: BigInt(s), nanos };
}

/** Milliseconds since the epoch of a Timestamp (sub-millisecond nanos are truncated). */
export function msFromTimestamp(timestamp: Timestamp): number {
  return Number(timestamp.seconds) * 1000 + Math.floor(timestamp.nanos / 1_000_000);
}

/** The Duration of a number of milliseconds (may be fractional and negative). */
export function durationFromMs(ms: number): Duration {
  let seconds = Math.trunc(ms / 1000);
  let nanos = Math.round((ms - seconds * 1000) * 1_000_000);
  if (Math.abs(nanos) >= 1_000_000_000) {
    seconds += Math.sign(nanos);
    nanos -= Math.sign(nanos) * 1_000_000_000;
  }
  // Protobuf requires nanos to have the sign of seconds.
  if (seconds > 0 && nanos < 0) {
    seconds -= 1;
    nanos += 1_000_000_000;
  } else if (seconds < 0 && nanos > 0) {
    seconds += 1;
    nanos -= 1_000_000_000;
  }
  return { $typeName: 'google.protobuf.Duration', seconds: BigInt(seconds), nanos };
}

/** Milliseconds of a Duration (fractional when it has sub-millisecond nanos). */
export function msFromDuration(duration: Duration): number {
  return Number(duration.seconds) * 1000 + duration.nanos / 1_000_000;
}
