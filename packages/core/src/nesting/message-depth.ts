// The depth of a protobuf message as the strictest reader counts it: the top message and every map entry are one
// level each. Measured without recursion (a hostile message may nest 10,000 deep), skipping every field whose
// type cannot nest past the limit, so that checking a record before it is stored costs little.
import type { DescField, DescMessage, MessageShape } from '@bufbuild/protobuf';
import { isWrapperDesc } from '@bufbuild/protobuf/wkt';
import { NestingTooDeepError } from '../errors.js';
import type { Literal } from '../gen/flyteidl/core/index.js';
import { isFlatLiteral } from './levels.js';
import { MAX_MESSAGE_DEPTH } from './limits.js';

/** Messages below a literal holding no container, at most (`Literal → Scalar → Blob → BlobMetadata → BlobType`). */
const FLAT_LITERAL_DEPTH = 4;

/** Deepest possible message of each type, Infinity for types that can nest without end. */
const staticDepths = new WeakMap<DescMessage, number>();

/** Messages on the deepest path a message of this type can have, or Infinity when its type is recursive. */
function staticDepth(desc: DescMessage, visiting = new Set<DescMessage>()): number {
  const known = staticDepths.get(desc);
  if (known !== undefined) return known;
  // Descriptors form a small finite graph: this recursion is bounded by the number of message types. A type
  // that reaches one being visited lies on a cycle: Infinity, like every type of that cycle.
  if (visiting.has(desc)) return Infinity;
  visiting.add(desc);
  let deepest = 0;
  for (const field of desc.fields) deepest = Math.max(deepest, fieldDepth(field, visiting));
  visiting.delete(desc);
  staticDepths.set(desc, 1 + deepest);
  return 1 + deepest;
}

function fieldDepth(field: DescField, visiting: Set<DescMessage>): number {
  switch (field.fieldKind) {
    case 'message':
      return staticDepth(field.message, visiting);
    case 'list':
      return field.listKind === 'message' ? staticDepth(field.message, visiting) : 0;
    case 'map':
      return 1 + (field.mapKind === 'message' ? staticDepth(field.message, visiting) : 0);
    default:
      return 0;
  }
}

/**
 * How to walk a message type when pruning: only its `deep` fields (those whose type can nest without end) need a
 * look, unless the message sits so deep that `shallow` (the deepest the other fields reach below it) could pass the
 * limit.
 */
interface Plan {
  readonly deep: readonly DescField[];
  readonly shallow: number;
}

const plans = new WeakMap<DescMessage, Plan>();

function planOf(desc: DescMessage): Plan {
  let plan = plans.get(desc);
  if (plan === undefined) {
    const deep: DescField[] = [];
    let shallow = 0;
    for (const field of desc.fields) {
      const depth = fieldDepth(field, new Set());
      if (depth === Infinity) deep.push(field);
      else shallow = Math.max(shallow, depth);
    }
    plan = { deep, shallow };
    plans.set(desc, plan);
  }
  return plan;
}

/** True when a field's message value is held as JSON (protobuf-es represents Struct fields as `JsonObject`). */
function isJsonStruct(field: DescField & { message: DescMessage }, parent: DescMessage): boolean {
  return field.message.typeName === 'google.protobuf.Struct' && parent.typeName !== 'google.protobuf.Value';
}

/**
 * The depth of `message` counted as protobuf readers do, top message and map entries included (a LiteralMap
 * holding one integer literal is 5: `LiteralMap → entry → Literal → Scalar → Primitive`), or `limit + 1` as soon
 * as a path deeper than `limit` is found. Unknown fields are not looked into.
 */
export function messageDepth<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  limit = MAX_MESSAGE_DEPTH,
): number {
  return walkDepth(schema, message, limit, false);
}

/**
 * The walk of {@link messageDepth}. With `prune`, fields whose type cannot reach past the limit are not walked:
 * the result then only tells whether the message is within the limit (it is not its exact depth).
 */
function walkDepth(schema: DescMessage, message: unknown, limit: number, prune: boolean): number {
  const messages: unknown[] = [message];
  const descs: DescMessage[] = [schema];
  const depths: number[] = [1];
  // JSON values of Struct fields (objects) and of their Values (objects, arrays), with the depth of the Struct or
  // ListValue message holding them.
  const json: unknown[] = [];
  const jsonDepths: number[] = [];
  let deepest = 0;
  const reach = (depth: number): boolean => {
    if (depth > deepest) deepest = depth;
    return depth <= limit;
  };
  const push = (field: DescField & { message: DescMessage }, parent: DescMessage, value: unknown, depth: number) => {
    if (value === undefined || value === null) return true;
    if (isJsonStruct(field, parent)) {
      json.push(value);
      jsonDepths.push(depth);
      return reach(depth);
    }
    // Small fixed shapes (timestamps, identifiers, literals of primitives) are not walked when they cannot reach
    // the limit.
    if (
      typeof value !== 'object' ||
      (prune &&
        (depth - 1 + staticDepth(field.message) <= limit ||
          (field.message.typeName === 'flyteidl.core.Literal' &&
            depth + FLAT_LITERAL_DEPTH <= limit &&
            isFlatLiteral(value as Literal))))
    ) {
      return reach(depth);
    }
    messages.push(value);
    descs.push(field.message);
    depths.push(depth);
    return true;
  };
  while (messages.length > 0) {
    const current = messages.pop() as Record<string, unknown>;
    const desc = descs.pop()!;
    const depth = depths.pop()!;
    if (!reach(depth)) return limit + 1;
    let fields: readonly DescField[] = desc.fields;
    if (prune) {
      const plan = planOf(desc);
      if (depth + plan.shallow <= limit) fields = plan.deep;
    }
    for (const field of fields) {
      let value: unknown;
      if (field.oneof !== undefined) {
        const selected = current[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
        if (selected?.case !== field.localName) continue;
        value = selected.value;
      } else {
        value = current[field.localName];
      }
      if (value === undefined || value === null) continue;
      switch (field.fieldKind) {
        case 'message':
          // Wrappers (Int32Value, ...) of singular fields are held as plain values: one message.
          if (isWrapperDesc(field.message) && field.oneof === undefined) {
            if (!reach(depth + 1)) return limit + 1;
          } else if (!push(field, desc, value, depth + 1)) return limit + 1;
          break;
        case 'list':
          if (field.listKind !== 'message' || !Array.isArray(value)) break;
          for (const item of value) if (!push(field, desc, item, depth + 1)) return limit + 1;
          break;
        case 'map': {
          const entries = value as Record<string, unknown>;
          for (const key in entries) {
            if (!Object.hasOwn(entries, key)) continue;
            if (!reach(depth + 1)) return limit + 1;
            if (field.mapKind === 'message' && !push(field, desc, entries[key], depth + 2)) return limit + 1;
          }
          break;
        }
        default:
          break;
      }
    }
  }
  // A Struct at depth d holds its entries at d + 1 and their Values at d + 2; a Value holding an object has its
  // Struct at d + 3, one holding an array its ListValue at d + 3, whose Values are at d + 4.
  while (json.length > 0) {
    const value = json.pop();
    const depth = jsonDepths.pop()!;
    if (!reach(depth)) return limit + 1;
    if (Array.isArray(value)) {
      if (value.length > 0 && !reach(depth + 1)) return limit + 1;
      for (const item of value) {
        if (typeof item === 'object' && item !== null) {
          json.push(item);
          jsonDepths.push(depth + 2);
        }
      }
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const record = value as Record<string, unknown>;
    for (const key in record) {
      if (!Object.hasOwn(record, key)) continue;
      if (!reach(depth + 2)) return limit + 1;
      const item = record[key];
      if (typeof item === 'object' && item !== null) {
        json.push(item);
        jsonDepths.push(depth + 3);
      }
    }
  }
  return deepest;
}

/** Whether a message nests deeper than {@link MAX_MESSAGE_DEPTH} (a pruned walk: fast on well-formed records). */
export function exceedsMessageDepth<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): boolean {
  return walkDepth(schema, message, MAX_MESSAGE_DEPTH, true) > MAX_MESSAGE_DEPTH;
}

/** The error of a record nested deeper than {@link MAX_MESSAGE_DEPTH}. */
export function messageTooDeep(what: string): NestingTooDeepError {
  return new NestingTooDeepError(
    `${what} nests more than ${MAX_MESSAGE_DEPTH} messages deep (MAX_MESSAGE_DEPTH), more than protobuf readers accept: it would be written but could never be read back; values must nest at most MAX_NESTING_DEPTH levels`,
    MAX_MESSAGE_DEPTH,
    { id: what },
  );
}

/**
 * Refuses a message that nests deeper than {@link MAX_MESSAGE_DEPTH}: no protobuf reader could read it back.
 * The Stores call it on every record before writing it, as a last guard behind the nesting checks where values
 * enter.
 * @param what the record, for the message and the error's id (`execution p/d/e`)
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming `what`
 */
export function checkMessageDepth<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  what: string,
): void {
  if (exceedsMessageDepth(schema, message)) throw messageTooDeep(what);
}
