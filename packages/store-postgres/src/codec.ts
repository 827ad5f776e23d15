// Conversions between column values and JavaScript: int8 read without losing precision whatever the driver's
// parsers return, bytea as plain Uint8Array on both drivers, protobuf times as exact nanoseconds.
import type { idl } from '@flyte-ts/core';

/** An int8 as a bigint, whatever the driver returned (text with `pg`, a number or bigint with other parsers). */
export function int8(value: string | number | bigint, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`${what}: int8 arrived as an imprecise number ${value}`);
    return BigInt(value);
  }
  return BigInt(value);
}

/** An int8 that must fit a JavaScript number (epochs, milliseconds, keys): checked, never rounded. */
export function int8Number(value: string | number | bigint, what: string): number {
  const big = int8(value, what);
  const n = Number(big);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what}: ${big} does not fit a JavaScript number exactly`);
  return n;
}

/** A bytea value as a plain Uint8Array (a view of a `pg` Buffer, not a copy). */
export function bytes(value: Uint8Array): Uint8Array {
  return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** Nanoseconds since the epoch of a protobuf Timestamp (0 when unset), exactly. */
export function timestampNanos(timestamp: idl.wkt.Timestamp | undefined): bigint {
  return timestamp === undefined ? 0n : timestamp.seconds * 1_000_000_000n + BigInt(timestamp.nanos);
}

/** Seconds of a protobuf Duration (0 when unset), as the `duration` filters compare them. */
export function durationSeconds(duration: idl.wkt.Duration | undefined): number {
  return duration === undefined ? 0 : Number(duration.seconds) + duration.nanos / 1e9;
}

/** Identity of a protobuf Timestamp within an event identity. */
export function timestampKey(timestamp: idl.wkt.Timestamp | undefined): string {
  return timestamp === undefined ? '' : `${timestamp.seconds}.${timestamp.nanos}`;
}

/** A key of several text parts, unambiguous (JSON) and free of NUL characters, which PostgreSQL text refuses. */
export function compositeKey(parts: readonly (string | number)[]): string {
  return JSON.stringify(parts);
}

/** The key of a task id within a task execution's identity (empty when there is none). */
export function taskKey(taskId: idl.core.Identifier | undefined): string {
  return taskId === undefined
    ? ''
    : compositeKey([taskId.org, taskId.project, taskId.domain, taskId.name, taskId.version]);
}
