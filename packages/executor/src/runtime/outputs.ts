// Literal offloading: where a node's output LiteralMap is kept. Small maps stay inline (in the node and task
// records and events, Flyte's `output_data`), larger ones are written as `outputs.pb` and referenced by URI,
// and maps above the size limit fail the node.
import { toBinary } from '@bufbuild/protobuf';
import { idl, type OperationOptions } from '@flyte-ts/core';
import type { EngineServices } from './services.js';
import { NodeFailure } from './failure.js';

/** Error code of a node whose outputs exceed `config.data.maxLiteralMapBytes`. */
export const OUTPUTS_TOO_LARGE = 'OutputsTooLarge';

/** Where a node's outputs were kept: inline, or in a blob (its URI). */
export type StoredOutputs = { readonly inline: true } | { readonly inline: false; readonly uri: string };

/**
 * Keeps `outputs` inline when they encode to at most `inlineLimitBytes`, else writes them to `uri`.
 * @throws {NodeFailure} `OutputsTooLarge` (not retryable) above `maxLiteralMapBytes`, naming `what`.
 */
export async function storeOutputs(
  services: EngineServices,
  what: string,
  uri: string,
  outputs: idl.core.LiteralMap,
  options?: OperationOptions,
): Promise<StoredOutputs> {
  const { inlineLimitBytes, maxLiteralMapBytes } = services.config.data;
  // An empty map encodes to nothing; most no-output nodes end here without encoding.
  if (inlineLimitBytes > 0 && isEmpty(outputs)) return { inline: true };
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

function isEmpty(map: idl.core.LiteralMap): boolean {
  for (const key in map.literals) if (Object.hasOwn(map.literals, key)) return false;
  return true;
}
