// Deterministic hashing of protobuf messages and LiteralMaps, bit-for-bit the same as Flyte's
// (flytestdlib pbhash + flyteplugins catalog hashing): a message is written as proto3 JSON (lowerCamelCase
// names, int64 as strings, enums by name, defaults omitted) and that JSON value is hashed with Ben Laurie's
// ObjectHash (SHA-256 with type prefixes; object entries sorted by key hash, so key order never matters).
// Cache keys computed here therefore match those of a Flyte deployment for the same inputs.
import { setOwn } from '../util/own.js';
import { hash } from 'node:crypto';
import { create, toJson, type DescMessage, type JsonValue, type MessageShape } from '@bufbuild/protobuf';
import { LiteralMapSchema, LiteralSchema, type Literal, type LiteralMap } from '../gen/flyteidl/core/index.js';
import { NestingTooDeepError } from '../errors.js';
import { checkLiteralNesting } from '../nesting/checks.js';
import { NestingWalk } from '../nesting/levels.js';
import { MAX_MESSAGE_DEPTH } from '../nesting/limits.js';
import { checkMessageDepth } from '../nesting/message-depth.js';

/** SHA-256 of a one-letter type prefix followed by `parts` (one-shot hashing: no Hash object per node). */
function sha256(prefix: string, ...parts: Uint8Array[]): Buffer {
  let length = 1;
  for (const part of parts) length += part.length;
  const data = Buffer.allocUnsafe(length);
  data[0] = prefix.charCodeAt(0);
  let offset = 1;
  for (const part of parts) {
    data.set(part, offset);
    offset += part.length;
  }
  return hash('sha256', data, 'buffer');
}

const utf8 = { encode: (text: string) => Buffer.from(text, 'utf8') };

/**
 * The mantissa/exponent text ObjectHash hashes for a float: `+0:` for zero, else sign, binary exponent,
 * `:` and the mantissa bits, e.g. `1.5` → `+1:011`. Every step is an exact halving, doubling or subtraction.
 */
function normalizeFloat(value: number): string {
  if (value === 0) return '+0:';
  let x = Math.abs(value);
  let exponent = 0;
  while (x > 1) {
    x /= 2;
    exponent++;
  }
  while (x <= 0.5) {
    x *= 2;
    exponent--;
  }
  let text = `${value < 0 ? '-' : '+'}${exponent}:`;
  while (x !== 0) {
    if (x >= 1) {
      text += '1';
      x -= 1;
    } else {
      text += '0';
    }
    x *= 2;
  }
  return text;
}

/**
 * ObjectHash of a JSON value (SHA-256, 32 bytes).
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` for a value nesting deeper than `MAX_MESSAGE_DEPTH` (the JSON
 *   form of a message protobuf readers accept nests less).
 */
export function objectHash(value: JsonValue): Buffer {
  // Before the recursive hashing: a hostile value may nest 10,000 deep.
  if (new NestingWalk(MAX_MESSAGE_DEPTH).json(value).run().depth > MAX_MESSAGE_DEPTH) {
    throw new NestingTooDeepError(
      `the JSON value to hash nests more than ${MAX_MESSAGE_DEPTH} levels (MAX_MESSAGE_DEPTH)`,
      MAX_MESSAGE_DEPTH,
      { id: 'value' },
    );
  }
  return hashJson(value);
}

function hashJson(value: JsonValue): Buffer {
  if (value === null) return sha256('n');
  if (typeof value === 'boolean') return sha256('b', utf8.encode(value ? '1' : '0'));
  if (typeof value === 'string') return sha256('u', utf8.encode(value));
  if (typeof value === 'number') {
    const text = Number.isNaN(value)
      ? 'NaN'
      : value === Infinity
        ? 'Infinity'
        : value === -Infinity
          ? '-Infinity'
          : normalizeFloat(value);
    return sha256('f', utf8.encode(text));
  }
  if (Array.isArray(value)) return sha256('l', ...value.map(hashJson));
  const entries = Object.keys(value)
    .map((key) => [hashJson(key), hashJson(value[key] ?? null)] as const)
    .sort((a, b) => Buffer.compare(a[0], b[0]));
  return sha256('d', ...entries.flat());
}

/** Flyte's pbhash: ObjectHash of the message's proto3 JSON form. Returns the 32 raw bytes. */
export function hashMessage<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Buffer {
  // Before the recursive JSON conversion: a message no reader accepts is refused.
  checkMessageDepth(schema, message, schema.typeName);
  return hashJson(toJson(schema, message));
}

/**
 * A literal as it enters a cache key (Flyte's `hashify`): a literal carrying a precomputed `hash` stands for
 * that hash alone; collections and maps are rebuilt from their hashified elements (dropping their metadata);
 * scalars are kept as they are.
 */
export function hashifyLiteral(literal: Literal): Literal {
  checkLiteralNesting(literal, 'literal');
  return hashify(literal);
}

function hashify(literal: Literal): Literal {
  if (literal.hash !== '') return create(LiteralSchema, { hash: literal.hash });
  const v = literal.value;
  if (v.case === 'collection') {
    return create(LiteralSchema, {
      value: { case: 'collection', value: { literals: v.value.literals.map(hashify) } },
    });
  }
  if (v.case === 'map') {
    const literals: { [key: string]: Literal } = {};
    for (const [k, item] of Object.entries(v.value.literals)) setOwn(literals, k, hashify(item));
    return create(LiteralSchema, { value: { case: 'map', value: { literals } } });
  }
  return literal;
}

/** Options of {@link hashLiteralMap}. */
export interface HashLiteralMapOptions {
  /** Input names left out of the hash (a task's `cache_ignore_input_vars`). */
  readonly ignore?: readonly string[];
}

/**
 * Hash of a LiteralMap for cache keys: independent of key order, stable across processes and releases,
 * and equal to Flyte's `HashLiteralMap` (URL-safe base64 without padding, 43 characters).
 * A missing or empty map hashes as the empty map.
 */
export function hashLiteralMap(literalMap: LiteralMap | undefined, options: HashLiteralMapOptions = {}): string {
  const ignore = new Set(options.ignore ?? []);
  const literals: { [key: string]: Literal } = {};
  for (const [name, literal] of Object.entries(literalMap?.literals ?? {})) {
    if (ignore.has(name)) continue;
    checkLiteralNesting(literal, name);
    setOwn(literals, name, hashify(literal));
  }
  return hashMessage(LiteralMapSchema, create(LiteralMapSchema, { literals })).toString('base64url');
}
