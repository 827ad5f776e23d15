// Literal offloading: where a node's output LiteralMap is kept. Small maps stay inline (in the node and task
// records and events, Flyte's `output_data`), larger ones are written as `outputs.pb` and referenced by URI,
// and maps above the size limit fail the node.
import { toBinary } from '@bufbuild/protobuf';
import { checkLiteralMapNesting, idl, isFlyteError, type OperationOptions } from '@flyte-ts/core';
import type { EngineServices } from './services.js';
import { NodeFailure } from './failure.js';

/** Error code of a node whose outputs exceed `config.data.maxLiteralMapBytes`. */
export const OUTPUTS_TOO_LARGE = 'OutputsTooLarge';

/** Error code of a node whose outputs nest deeper than `MAX_NESTING_DEPTH` (the core error's code). */
export const NESTING_TOO_DEEP = 'NESTING_TOO_DEEP';

/** Where a node's outputs were kept: inline, or in a blob (its URI). */
export type StoredOutputs = { readonly inline: true } | { readonly inline: false; readonly uri: string };

/**
 * Keeps `outputs` inline when they encode to at most `inlineLimitBytes`, else writes them to `uri`.
 * @throws {NodeFailure} `OutputsTooLarge` (not retryable) above `maxLiteralMapBytes`, `NESTING_TOO_DEEP` (not
 *   retryable) for an output nesting deeper than `MAX_NESTING_DEPTH`, naming `what`.
 */
export function storeOutputs(
  services: EngineServices,
  what: string,
  uri: string,
  outputs: idl.core.LiteralMap,
  options?: OperationOptions,
): Promise<StoredOutputs> {
  try {
    checkOutputsNesting(outputs, what);
  } catch (error) {
    return Promise.reject(error as Error);
  }
  // Small maps of simple values are known to fit without encoding them (the hot path of small tasks).
  const limit = services.config.data.inlineLimitBytes;
  if (upperBoundSize(outputs, limit) <= limit) return INLINE;
  return placeOutputs(services, what, uri, outputs, options);
}

const INLINE: Promise<StoredOutputs> = Promise.resolve({ inline: true });

/**
 * Refuses outputs that no record could hold readably: they would be written, and every later read of the node,
 * its task attempt, its events and the execution would fail.
 * @throws {NodeFailure} `NESTING_TOO_DEEP` (a user error, not retryable) naming the output
 */
export function checkOutputsNesting(outputs: idl.core.LiteralMap, what: string): void {
  try {
    checkLiteralMapNesting(outputs, 'outputs');
  } catch (error) {
    if (!isFlyteError(error, NESTING_TOO_DEEP)) throw error;
    throw new NodeFailure(NESTING_TOO_DEEP, `${what}: ${error.message}`, 'user');
  }
}

async function placeOutputs(
  services: EngineServices,
  what: string,
  uri: string,
  outputs: idl.core.LiteralMap,
  options?: OperationOptions,
): Promise<StoredOutputs> {
  const { inlineLimitBytes, maxLiteralMapBytes } = services.config.data;
  const bytes = toBinary(idl.core.LiteralMapSchema, outputs);
  if (bytes.byteLength > maxLiteralMapBytes) {
    throw new NodeFailure(
      OUTPUTS_TOO_LARGE,
      `the outputs of ${what} are ${bytes.byteLength} bytes encoded, above the limit of ${maxLiteralMapBytes} (config.data.maxLiteralMapBytes): return large data as a file, directory or dataset`,
      'user',
    );
  }
  if (bytes.byteLength <= inlineLimitBytes) return { inline: true };
  await services.blob.put(uri, bytes, { ...options, contentType: 'application/x-protobuf' });
  return { inline: false, uri };
}

/** Room for the tags and length prefixes of one nested message (generous: 6 levels × tag + 5-byte varint). */
const MESSAGE_OVERHEAD = 40;

/**
 * An upper bound of the encoded size of a LiteralMap of primitives, none values, collections and maps of them, or
 * Infinity when it holds anything else or exceeds `limit` (then the map is encoded to know).
 */
export function upperBoundSize(map: idl.core.LiteralMap, limit: number): number {
  let size = 0;
  for (const key in map.literals) {
    if (!Object.hasOwn(map.literals, key)) continue;
    size += MESSAGE_OVERHEAD + key.length * 3 + literalBound(map.literals[key]!, limit - size);
    if (size > limit) return Infinity;
  }
  return size;
}

function literalBound(literal: idl.core.Literal, limit: number): number {
  if (literal.hash !== '' || hasKeys(literal.metadata)) return Infinity;
  const value = literal.value;
  switch (value.case) {
    case 'scalar': {
      const scalar = value.value.value;
      if (scalar.case === 'noneType') return MESSAGE_OVERHEAD;
      if (scalar.case !== 'primitive') return Infinity;
      const primitive = scalar.value.value;
      // Strings: UTF-16 code units × 3 bounds their UTF-8 length; numbers, booleans and times are at most 24 bytes.
      return MESSAGE_OVERHEAD + (primitive.case === 'stringValue' ? primitive.value.length * 3 : 24);
    }
    case 'collection': {
      let size = MESSAGE_OVERHEAD;
      for (const item of value.value.literals) {
        size += literalBound(item, limit - size);
        if (size > limit) return Infinity;
      }
      return size;
    }
    case 'map':
      return MESSAGE_OVERHEAD + upperBoundSize(value.value, limit);
    default:
      return Infinity;
  }
}

function hasKeys(record: { readonly [key: string]: unknown }): boolean {
  for (const key in record) if (Object.hasOwn(record, key)) return true;
  return false;
}
