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

/** What the walk needs to know of a field, worked out once per message type. */
interface FieldPlan {
  /** The oneof holding the field, if any (the value is then `message[oneof].value` when the case is the field). */
  readonly oneof: string | undefined;
  readonly name: string;
  /** How its value nests: a message, a list or map of messages, entries of a map of scalars, or one message. */
  readonly kind: 'message' | 'messages' | 'map' | 'scalar map' | 'wrapper';
  /** The field's message type, for message kinds. */
  readonly message: DescMessage | undefined;
  /** Held as JSON: protobuf-es represents Struct fields as `JsonObject`. */
  readonly json: boolean;
  /** The type is Literal: a literal holding no container can be skipped without a walk. */
  readonly literal: boolean;
  /**
   * The type is LiteralMap: records and events of one transition share their literal maps, which a guard of the
   * whole transition walks once (see {@link DepthWalk.shared}).
   */
  readonly literalMap: boolean;
  /** The deepest its messages reach below the field's own depth (Infinity for recursive types). */
  readonly below: number;
}

/**
 * How to walk a message type: every field that holds messages, and (when pruning) only those that can nest without
 * end, unless the message sits so deep that the others (`shallow` below it) could pass the limit.
 */
interface Plan {
  readonly all: readonly FieldPlan[];
  readonly deep: readonly FieldPlan[];
  readonly shallow: number;
}

const plans = new WeakMap<DescMessage, Plan>();

function planOf(desc: DescMessage): Plan {
  let plan = plans.get(desc);
  if (plan !== undefined) return plan;
  const all: FieldPlan[] = [];
  let shallow = 0;
  for (const field of desc.fields) {
    const message = field.fieldKind === 'scalar' || field.fieldKind === 'enum' ? undefined : field.message;
    let kind: FieldPlan['kind'];
    if (field.fieldKind === 'message') {
      // Wrappers (Int32Value, ...) of singular fields are held as plain values: one message.
      kind = isWrapperDesc(field.message) && field.oneof === undefined ? 'wrapper' : 'message';
    } else if (field.fieldKind === 'list' && field.listKind === 'message') {
      kind = 'messages';
    } else if (field.fieldKind === 'map') {
      kind = field.mapKind === 'message' ? 'map' : 'scalar map';
    } else {
      continue;
    }
    const below = fieldDepth(field, new Set());
    all.push({
      oneof: field.oneof?.localName,
      name: field.localName,
      kind,
      message,
      json: message?.typeName === 'google.protobuf.Struct' && desc.typeName !== 'google.protobuf.Value',
      literal: message?.typeName === 'flyteidl.core.Literal',
      literalMap: message?.typeName === 'flyteidl.core.LiteralMap',
      below,
    });
    if (below !== Infinity) shallow = Math.max(shallow, below);
  }
  plan = { all, deep: all.filter((f) => f.below === Infinity), shallow };
  plans.set(desc, plan);
  return plan;
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
  return new DepthWalk(limit, false).run(schema, message);
}

/**
 * The walk of {@link messageDepth}, on its own stacks. With `prune`, fields whose messages cannot reach past the
 * limit are not walked: the result then only tells whether the message is within the limit.
 */
class DepthWalk {
  readonly #messages: unknown[] = [];
  readonly #descs: DescMessage[] = [];
  readonly #depths: number[] = [];
  // JSON values of Struct fields (objects) and of their Values (objects, arrays), with the depth of the Struct or
  // ListValue message holding them.
  readonly #json: unknown[] = [];
  readonly #jsonDepths: number[] = [];
  readonly #limit: number;
  readonly #prune: boolean;
  #deepest = 0;
  /**
   * Literal maps walked without passing the limit by earlier runs, with the depth they sat at: one met again no
   * deeper holds nothing new. Set by callers that check several messages sharing parts, cleared by them.
   */
  shared: Map<object, number> | undefined;
  /** Literal maps this run walks, with their depths: added to `shared` once the run ends within the limit. */
  readonly #walked: unknown[] = [];
  readonly #walkedDepths: number[] = [];

  constructor(limit: number, prune: boolean) {
    this.#limit = limit;
    this.#prune = prune;
  }

  /** Records that a message sits at `depth`; false past the limit. */
  #reach(depth: number): boolean {
    if (depth > this.#deepest) this.#deepest = depth;
    return depth <= this.#limit;
  }

  /** Queues a message value of `field` at `depth`; false past the limit. */
  #push(plan: FieldPlan, value: unknown, depth: number): boolean {
    if (value === undefined || value === null) return true;
    if (plan.json) {
      this.#json.push(value);
      this.#jsonDepths.push(depth);
      return this.#reach(depth);
    }
    // Small fixed shapes (timestamps, identifiers, literals of primitives) are not walked when they cannot reach
    // the limit.
    if (
      typeof value !== 'object' ||
      (this.#prune &&
        (depth - 1 + plan.below <= this.#limit ||
          (plan.literal && depth + FLAT_LITERAL_DEPTH <= this.#limit && isFlatLiteral(value as Literal))))
    ) {
      return this.#reach(depth);
    }
    if (plan.literalMap && this.shared !== undefined) {
      const seen = this.shared.get(value);
      if (seen !== undefined && depth <= seen) return this.#reach(depth);
      this.#walked.push(value);
      this.#walkedDepths.push(depth);
    }
    this.#messages.push(value);
    this.#descs.push(plan.message!);
    this.#depths.push(depth);
    return true;
  }

  run(schema: DescMessage, message: unknown): number {
    const limit = this.#limit;
    const messages = this.#messages;
    // A walk may be run again (the store guard keeps one): start from empty stacks.
    if (messages.length > 0 || this.#json.length > 0 || this.#walked.length > 0) this.#clear();
    this.#deepest = 0;
    this.#messages.push(message);
    this.#descs.push(schema);
    this.#depths.push(1);
    while (messages.length > 0) {
      const current = messages.pop() as Record<string, unknown>;
      const desc = this.#descs.pop()!;
      const depth = this.#depths.pop()!;
      if (!this.#reach(depth)) return limit + 1;
      const plan = planOf(desc);
      const fields = this.#prune && depth + plan.shallow <= limit ? plan.deep : plan.all;
      for (const field of fields) {
        let value: unknown;
        if (field.oneof !== undefined) {
          const selected = current[field.oneof] as { case?: string; value?: unknown } | undefined;
          if (selected?.case !== field.name) continue;
          value = selected.value;
        } else {
          value = current[field.name];
        }
        if (value === undefined || value === null) continue;
        if (!this.#field(field, value, depth)) return limit + 1;
      }
    }
    if (!this.#walkJson()) return limit + 1;
    const walked = this.#walked;
    if (walked.length > 0) {
      for (let i = 0; i < walked.length; i++) this.shared?.set(walked[i] as object, this.#walkedDepths[i]!);
      walked.length = 0;
      this.#walkedDepths.length = 0;
    }
    return this.#deepest;
  }

  #clear(): void {
    this.#messages.length = 0;
    this.#descs.length = 0;
    this.#depths.length = 0;
    this.#json.length = 0;
    this.#jsonDepths.length = 0;
    this.#walked.length = 0;
    this.#walkedDepths.length = 0;
  }

  /** Queues what a set field holds; false past the limit. */
  #field(field: FieldPlan, value: unknown, depth: number): boolean {
    switch (field.kind) {
      case 'wrapper':
        return this.#reach(depth + 1);
      case 'message':
        return this.#push(field, value, depth + 1);
      case 'messages':
        if (!Array.isArray(value)) return true;
        for (const item of value) if (!this.#push(field, item, depth + 1)) return false;
        return true;
      case 'map':
      case 'scalar map': {
        const entries = value as Record<string, unknown>;
        for (const key in entries) {
          if (!Object.hasOwn(entries, key)) continue;
          if (!this.#reach(depth + 1)) return false;
          if (field.kind === 'map' && !this.#push(field, entries[key], depth + 2)) return false;
        }
        return true;
      }
    }
  }

  /**
   * The JSON values: a Struct at depth d holds its entries at d + 1 and their Values at d + 2; a Value holding an
   * object has its Struct at d + 3, one holding an array its ListValue at d + 3, whose Values are at d + 4.
   */
  #walkJson(): boolean {
    const json = this.#json;
    const depths = this.#jsonDepths;
    while (json.length > 0) {
      const value = json.pop();
      const depth = depths.pop()!;
      if (!this.#reach(depth)) return false;
      if (Array.isArray(value)) {
        if (value.length > 0 && !this.#reach(depth + 1)) return false;
        for (const item of value) {
          if (typeof item === 'object' && item !== null) {
            json.push(item);
            depths.push(depth + 2);
          }
        }
        continue;
      }
      if (typeof value !== 'object' || value === null) continue;
      const record = value as Record<string, unknown>;
      for (const key in record) {
        if (!Object.hasOwn(record, key)) continue;
        if (!this.#reach(depth + 2)) return false;
        const item = record[key];
        if (typeof item === 'object' && item !== null) {
          json.push(item);
          depths.push(depth + 3);
        }
      }
    }
    return true;
  }
}

/** Whether a message nests deeper than {@link MAX_MESSAGE_DEPTH} (a pruned walk: fast on well-formed records). */
export function exceedsMessageDepth<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): boolean {
  return guardWalk.run(schema, message) > MAX_MESSAGE_DEPTH;
}

/**
 * Runs `check` with {@link exceedsMessageDepth} walking each literal map once however many of the messages it
 * checks share it (the records and events of one transition share their inputs and outputs). Only for messages
 * not changed meanwhile: `check` runs synchronously.
 */
export function withSharedLiteralMaps<T>(check: () => T): T {
  guardWalk.shared = new Map();
  try {
    return check();
  } finally {
    guardWalk.shared = undefined;
  }
}

/** The walk of the store guard, reused: it runs on every record written, synchronously. */
const guardWalk = new DepthWalk(MAX_MESSAGE_DEPTH, true);

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
