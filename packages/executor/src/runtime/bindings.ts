// Resolution of a node's input bindings against the outputs of the nodes it depends on (flytepropeller's
// ResolveBindingData): promises with attribute paths, collections, maps, static scalars and union wrapping.
import { create, type JsonValue } from '@bufbuild/protobuf';
import { idl } from '@flyte-ts/core';
import { NodeFailure } from './failure.js';

type Literal = idl.core.Literal;
type LiteralMap = idl.core.LiteralMap;

/** Returns the outputs of an upstream node (by its id in the same workflow). */
export type OutputLookup = (nodeId: string) => LiteralMap | Promise<LiteralMap>;

/**
 * Resolves bindings into the LiteralMap of a node's inputs: at once when every upstream output is in memory (the
 * common case, no promise made), else once the outputs read from the blob store arrive.
 * @throws {NodeFailure} when a promised output or attribute is missing (a user error of the upstream node); thrown
 * at once or as a rejection.
 */
export function resolveBindings(
  bindings: readonly idl.core.Binding[],
  lookup: OutputLookup,
  nodeId: string,
): LiteralMap | Promise<LiteralMap> {
  const names: string[] = [];
  const values: (Literal | Promise<Literal>)[] = [];
  let pending = false;
  try {
    for (const binding of bindings) {
      if (binding.binding === undefined) continue;
      const value = resolveData(binding.binding, lookup, nodeId, binding.var);
      if (value instanceof Promise) pending = true;
      names.push(binding.var);
      values.push(value);
    }
  } catch (error) {
    abandon(values);
    throw error;
  }
  return pending
    ? Promise.all(values).then((literals) => literalMap(names, literals))
    : literalMap(names, values as Literal[]);
}

function literalMap(names: readonly string[], values: readonly Literal[]): LiteralMap {
  const literals: { [name: string]: Literal } = {};
  for (let i = 0; i < names.length; i++) setOwn(literals, names[i]!, values[i]!);
  return { $typeName: 'flyteidl.core.LiteralMap', literals };
}

/** Sets an own property, `__proto__` included. */
function setOwn(target: { [key: string]: Literal }, key: string, value: Literal): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** `resolve` of each item; when one throws, reads already started for the others are abandoned, not left unhandled. */
function resolveEach<T>(
  items: readonly T[],
  resolve: (item: T) => Literal | Promise<Literal>,
): (Literal | Promise<Literal>)[] {
  const out: (Literal | Promise<Literal>)[] = [];
  try {
    for (const item of items) out.push(resolve(item));
  } catch (error) {
    abandon(out);
    throw error;
  }
  return out;
}

/** Values whose outcome no longer matters: their rejections are handled (and dropped). */
function abandon(values: readonly (Literal | Promise<Literal>)[]): void {
  for (const value of values) if (value instanceof Promise) value.catch(() => undefined);
}

/** All of `items`, at once when none is a promise. */
function all(items: readonly (Literal | Promise<Literal>)[]): Literal[] | Promise<Literal[]> {
  for (const item of items) if (item instanceof Promise) return Promise.all(items);
  return items as Literal[];
}

/** `fn` of `value`, at once or when it arrives. */
function then<T, U>(value: T | Promise<T>, fn: (value: T) => U): U | Promise<U> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

function resolveData(
  data: idl.core.BindingData,
  lookup: OutputLookup,
  nodeId: string,
  path: string,
): Literal | Promise<Literal> {
  let literal: Literal | Promise<Literal>;
  const value = data.value;
  switch (value.case) {
    case 'scalar':
      literal = create(idl.core.LiteralSchema, { value: { case: 'scalar', value: value.value } });
      break;
    case 'collection': {
      const items = resolveEach(value.value.bindings, (item) => resolveData(item, lookup, nodeId, path));
      literal = then(all(items), (literals) =>
        create(idl.core.LiteralSchema, { value: { case: 'collection', value: { literals } } }),
      );
      break;
    }
    case 'map': {
      const keys = Object.keys(value.value.bindings);
      const items = resolveEach(keys, (key) =>
        resolveData(value.value.bindings[key]!, lookup, nodeId, `${path}.${key}`),
      );
      literal = then(all(items), (resolved) => {
        const entries: { [key: string]: Literal } = {};
        for (let i = 0; i < keys.length; i++) setOwn(entries, keys[i]!, resolved[i]!);
        return create(idl.core.LiteralSchema, { value: { case: 'map', value: { literals: entries } } });
      });
      break;
    }
    case 'promise': {
      const outputs = lookup(value.value.nodeId);
      const reference = value.value;
      literal =
        outputs instanceof Promise
          ? outputs.then((arrived) => promised(arrived, reference, nodeId, path))
          : promised(outputs, reference, nodeId, path);
      break;
    }
    case 'offloadedMetadata':
      literal = create(idl.core.LiteralSchema, { value: { case: 'offloadedMetadata', value: value.value } });
      break;
    default:
      throw new NodeFailure('BindingResolutionFailed', `${nodeId}.${path}: the binding has no value`, 'user');
  }
  const targetType = data.union?.targetType;
  if (targetType === undefined) return literal;
  return then(literal, (inner) =>
    create(idl.core.LiteralSchema, {
      value: { case: 'scalar', value: { value: { case: 'union', value: { value: inner, type: targetType } } } },
    }),
  );
}

/** The output a promise binding names, followed along its attribute path. */
function promised(outputs: LiteralMap, reference: idl.core.OutputReference, nodeId: string, path: string): Literal {
  const found = Object.hasOwn(outputs.literals, reference.var) ? outputs.literals[reference.var] : undefined;
  if (found === undefined) {
    throw new NodeFailure(
      'OutputsNotFound',
      `${nodeId}.${path}: node ${reference.nodeId} produced no output ${reference.var}`,
      'user',
    );
  }
  return reference.attrPath.length === 0
    ? found
    : resolveAttributePath(found, reference.attrPath, `${reference.nodeId}.${reference.var}`);
}

/** Follows an attribute path (`x[0]`, `x["key"]`, struct fields) into a literal. */
export function resolveAttributePath(
  literal: Literal,
  path: readonly idl.core.PromiseAttribute[],
  where: string,
): Literal {
  let current = literal;
  let at = where;
  for (let i = 0; i < path.length; i++) {
    const step = path[i]!.value;
    const v = current.value;
    if (v.case === 'collection' && step.case === 'intValue') {
      const item = v.value.literals[step.value];
      if (item === undefined)
        throw missing(`${at}[${step.value}]`, `index out of range (length ${v.value.literals.length})`);
      current = item;
      at = `${at}[${step.value}]`;
    } else if (v.case === 'map' && step.case === 'stringValue') {
      const item = Object.hasOwn(v.value.literals, step.value) ? v.value.literals[step.value] : undefined;
      if (item === undefined) throw missing(`${at}.${step.value}`, 'no such key');
      current = item;
      at = `${at}.${step.value}`;
    } else if (v.case === 'scalar' && v.value.value.case === 'generic') {
      return structPathLiteral(v.value.value.value, path.slice(i), at);
    } else if (v.case === 'scalar' && v.value.value.case === 'union') {
      // A union's value is followed into, the same step applied to it.
      const inner = v.value.value.value.value;
      if (inner === undefined) throw missing(at, 'the union holds no value');
      current = inner;
      i--;
    } else {
      throw missing(
        at,
        `cannot apply ${step.case === 'intValue' ? `[${step.value}]` : `.${step.value}`} to this value`,
      );
    }
  }
  return current;
}

function missing(at: string, why: string): NodeFailure {
  return new NodeFailure('PromiseAttributeResolveError', `${at}: ${why}`, 'user');
}

function structPathLiteral(json: JsonValue, path: readonly idl.core.PromiseAttribute[], where: string): Literal {
  let current: JsonValue = json;
  let at = where;
  for (const attribute of path) {
    const step = attribute.value;
    if (Array.isArray(current) && step.case === 'intValue') {
      if (step.value >= current.length) throw missing(`${at}[${step.value}]`, 'index out of range');
      current = current[step.value]!;
      at = `${at}[${step.value}]`;
    } else if (
      current !== null &&
      typeof current === 'object' &&
      !Array.isArray(current) &&
      step.case === 'stringValue'
    ) {
      if (!Object.hasOwn(current, step.value)) throw missing(`${at}.${step.value}`, 'no such field');
      current = current[step.value]!;
      at = `${at}.${step.value}`;
    } else {
      throw missing(at, 'cannot follow the attribute path into this value');
    }
  }
  return jsonLiteral(current);
}

/** A JSON value as a literal, the way flytepropeller converts struct attributes. */
function jsonLiteral(value: JsonValue): Literal {
  const primitive = (p: idl.core.Primitive['value']) =>
    create(idl.core.LiteralSchema, {
      value: { case: 'scalar', value: { value: { case: 'primitive', value: { value: p } } } },
    });
  if (typeof value === 'string') return primitive({ case: 'stringValue', value });
  if (typeof value === 'number')
    return Number.isInteger(value)
      ? primitive({ case: 'integer', value: BigInt(value) })
      : primitive({ case: 'floatValue', value });
  if (typeof value === 'boolean') return primitive({ case: 'boolean', value });
  if (value === null)
    return create(idl.core.LiteralSchema, {
      value: { case: 'scalar', value: { value: { case: 'noneType', value: {} } } },
    });
  if (Array.isArray(value))
    return create(idl.core.LiteralSchema, {
      value: { case: 'collection', value: { literals: value.map(jsonLiteral) } },
    });
  return create(idl.core.LiteralSchema, {
    value: { case: 'scalar', value: { value: { case: 'generic', value } } },
  });
}
