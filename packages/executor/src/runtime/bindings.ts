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
 * Resolves bindings into the LiteralMap of a node's inputs.
 * @throws {NodeFailure} when a promised output or attribute is missing (a user error of the upstream node).
 */
export async function resolveBindings(
  bindings: readonly idl.core.Binding[],
  lookup: OutputLookup,
  nodeId: string,
): Promise<LiteralMap> {
  const literals: { [name: string]: Literal } = {};
  for (const binding of bindings) {
    if (binding.binding === undefined) continue;
    const literal = await resolveData(binding.binding, lookup, `${nodeId}.${binding.var}`);
    if (binding.var === '__proto__') {
      // An own property, not the prototype.
      Object.defineProperty(literals, binding.var, {
        value: literal,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      literals[binding.var] = literal;
    }
  }
  return { $typeName: 'flyteidl.core.LiteralMap', literals };
}

async function resolveData(data: idl.core.BindingData, lookup: OutputLookup, where: string): Promise<Literal> {
  let literal: Literal;
  const value = data.value;
  switch (value.case) {
    case 'scalar':
      literal = create(idl.core.LiteralSchema, { value: { case: 'scalar', value: value.value } });
      break;
    case 'collection': {
      const items: Literal[] = [];
      for (const item of value.value.bindings) items.push(await resolveData(item, lookup, where));
      literal = create(idl.core.LiteralSchema, { value: { case: 'collection', value: { literals: items } } });
      break;
    }
    case 'map': {
      const entries: { [key: string]: Literal } = {};
      for (const [key, item] of Object.entries(value.value.bindings)) {
        Object.defineProperty(entries, key, {
          value: await resolveData(item, lookup, `${where}.${key}`),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      literal = create(idl.core.LiteralSchema, { value: { case: 'map', value: { literals: entries } } });
      break;
    }
    case 'promise': {
      const outputs = await lookup(value.value.nodeId);
      const found = Object.hasOwn(outputs.literals, value.value.var) ? outputs.literals[value.value.var] : undefined;
      if (found === undefined) {
        throw new NodeFailure(
          'OutputsNotFound',
          `${where}: node ${value.value.nodeId} produced no output ${value.value.var}`,
          'user',
        );
      }
      literal = resolveAttributePath(found, value.value.attrPath, `${value.value.nodeId}.${value.value.var}`);
      break;
    }
    case 'offloadedMetadata':
      literal = create(idl.core.LiteralSchema, { value: { case: 'offloadedMetadata', value: value.value } });
      break;
    default:
      throw new NodeFailure('BindingResolutionFailed', `${where}: the binding has no value`, 'user');
  }
  if (data.union?.targetType !== undefined) {
    literal = create(idl.core.LiteralSchema, {
      value: {
        case: 'scalar',
        value: { value: { case: 'union', value: { value: literal, type: data.union.targetType } } },
      },
    });
  }
  return literal;
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
