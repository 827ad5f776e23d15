// Small helpers shared by the compiler's modules.
import type { idl } from '@flyte-ts/core';
import { idKey } from './ids.js';

/** Whether two identifiers are the same (both absent counts as the same, as Flyte compares their text). */
export function sameKey(a: idl.core.Identifier | undefined, b: idl.core.Identifier | undefined): boolean {
  return idKey(a) === idKey(b);
}
