// One nesting limit (MAX_NESTING_DEPTH): values, types and conditions nesting up to it are accepted and every record
// holding them stays readable by protobuf readers; one level more is refused with NESTING_TOO_DEEP where it enters;
// and hostile input (10,000 levels, 5,000 nested branches) gets that coded error, never a stack overflow.
import { create, fromBinary, toBinary, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  and,
  areTypesCastable,
  checkTransitionDepth,
  conditional,
  describeLiteralType,
  encodeLiteralMap,
  hashLiteralMap,
  idl,
  jsonNesting,
  literalNesting,
  literalTypeForLiteral,
  literalTypeNesting,
  literalTypesEqual,
  MAX_MESSAGE_DEPTH,
  MAX_NESTING_DEPTH,
  messageDepth,
  t,
  task,
  toLiteralMap,
  typeFromLiteralType,
  workflow,
  type AnyFlyteType,
  type BooleanExpression,
} from '@flyte-ts/core';

const N = MAX_NESTING_DEPTH;
const HOSTILE = 10_000;

/** The code of what `fn` throws (`uncoded: RangeError: ...` for an uncoded error), or 'none'. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : `uncoded: ${String(error)}`;
  }
}

function idOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { id?: string }).id;
  }
  return undefined;
}

/** A JSON object nested `levels` objects deep (`{a: {a: ... {leaf}}}`), built without recursion. */
function deepObject(levels: number, leaf: JsonValue = 'x'): JsonObject {
  let value: JsonObject = { leaf };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

/** Arrays nested `levels` deep around 1. */
function deepArray(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

function literal(value: idl.core.Literal['value']): idl.core.Literal {
  return { $typeName: 'flyteidl.core.Literal', value, hash: '', metadata: {} };
}

/** A collection literal nested `levels` deep around an integer, built without recursion. */
function deepCollection(levels: number): idl.core.Literal {
  let value = literal({
    case: 'scalar',
    value: create(idl.core.ScalarSchema, {
      value: { case: 'primitive', value: { value: { case: 'integer', value: 1n } } },
    }),
  });
  for (let i = 0; i < levels; i++) {
    value = literal({ case: 'collection', value: { $typeName: 'flyteidl.core.LiteralCollection', literals: [value] } });
  }
  return value;
}

/** A list type nested `levels` deep around integer, built without recursion. */
function deepListType(levels: number): idl.core.LiteralType {
  let type = create(idl.core.LiteralTypeSchema, { type: { case: 'simple', value: idl.core.SimpleType.INTEGER } });
  for (let i = 0; i < levels; i++)
    type = create(idl.core.LiteralTypeSchema, { type: { case: 'collectionType', value: type } });
  return type;
}

/** A struct type whose dataclass fields nest `levels` deep (each a structure of one field). */
function deepDataclass(levels: number): idl.core.LiteralType {
  let type = create(idl.core.LiteralTypeSchema, {
    type: { case: 'blob', value: { format: 'csv' } },
    annotation: { annotations: { kind: 'leaf' } },
  });
  for (let i = 1; i < levels; i++) {
    type = create(idl.core.LiteralTypeSchema, {
      type: { case: 'simple', value: idl.core.SimpleType.STRUCT },
      structure: { tag: 'dc', dataclassType: { f: type } },
    });
  }
  return type;
}

const lists = (levels: number): AnyFlyteType => {
  let type: AnyFlyteType = t.int();
  for (let i = 0; i < levels; i++) type = t.list(type);
  return type;
};

describe('nesting levels', () => {
  it('counts one level per list, map, union value and struct object or array', () => {
    const int = (n: number) => t.int().toLiteral(n);
    expect(literalNesting(int(1))).toBe(0);
    expect(literalNesting(t.list(t.list(t.int())).toLiteral([[1]]))).toBe(2);
    expect(literalNesting(t.map(t.int()).toLiteral({ a: 1 }))).toBe(1);
    expect(literalNesting(t.struct().toLiteral({ a: { b: [1] } }))).toBe(3);
    expect(literalNesting(t.struct().toLiteral({}))).toBe(1);
    // A union value holds its value and the type of its variant one level down.
    expect(literalNesting(t.optional(t.list(t.int())).toLiteral([1]))).toBe(2);
    expect(jsonNesting({ a: [{ b: 1 }] })).toBe(3);
    expect(jsonNesting('text')).toBe(0);
  });

  it('counts one level per list, map and union type, dataclass and metadata object', () => {
    expect(literalTypeNesting(t.list(t.map(t.int())).literalType)).toBe(2);
    expect(literalTypeNesting(t.optional(t.int()).literalType)).toBe(1);
    expect(literalTypeNesting(deepDataclass(3))).toBe(3);
    expect(literalTypeNesting(t.struct({ schema: { properties: { a: { type: 'integer' } } } }).literalType)).toBe(3);
  });
});

describe('values, types and conditions at the limit and one level beyond', () => {
  it('converts a struct nesting MAX_NESTING_DEPTH levels, and refuses one more naming its path', () => {
    expect(literalNesting(t.struct().toLiteral(deepObject(N)))).toBe(N);
    const error = codeOf(() => toLiteralMap({ s: t.struct() }, { s: deepObject(N + 1) }));
    expect(error).toBe('NESTING_TOO_DEEP');
    expect(idOf(() => toLiteralMap({ s: t.struct() }, { s: deepObject(N + 1) }, { path: 'inputs' }))).toBe('inputs.s');
  });

  it('converts lists of structs whose levels add up to the limit, and refuses one more', () => {
    const type = t.list(t.list(t.struct()));
    expect(literalNesting(type.toLiteral([[deepObject(N - 2)]]))).toBe(N);
    expect(codeOf(() => type.toLiteral([[deepObject(N - 1)]]))).toBe('NESTING_TOO_DEEP');
  });

  it('builds types nesting up to the limit and refuses one level more where it is built', () => {
    const deepest = lists(N);
    expect(literalTypeNesting(deepest.literalType)).toBe(N);
    expect(literalNesting(deepest.toLiteral(deepArray(N) as never))).toBe(N);
    expect(codeOf(() => t.list(deepest))).toBe('NESTING_TOO_DEEP');
    expect(codeOf(() => t.optional(deepest))).toBe('NESTING_TOO_DEEP');
    expect(codeOf(() => typeFromLiteralType(deepListType(N + 1)))).toBe('NESTING_TOO_DEEP');
    expect(codeOf(() => t.struct({ schema: deepObject(N + 1) }))).toBe('NESTING_TOO_DEEP');
  });

  it('accepts conditions of and/or up to the limit and refuses one more', () => {
    const flag = task({ name: 'nest.flag', outputs: { ok: t.boolean() } }, () => ({ ok: true }));
    const comparisons = (count: number) => {
      const made: BooleanExpression[] = [];
      workflow({ name: 'nest.conditions' }, () => {
        const { ok } = flag();
        for (let i = 0; i < count; i++) made.push(ok.isTrue());
      });
      return made;
    };
    const [first, ...rest] = comparisons(N + 2);
    // and(a, b, c) nests 2: N + 1 comparisons nest N.
    expect(codeOf(() => and(first!, ...rest.slice(0, N)))).toBe('none');
    expect(codeOf(() => and(first!, ...rest))).toBe('NESTING_TOO_DEEP');
  });
});

describe('records holding values at the limit stay readable by every protobuf reader', () => {
  const nested = (() => {
    // Unions and lists interleaved (each union holds the nested type of its variant): N levels.
    let type: AnyFlyteType = t.int();
    for (let i = 0; i < N / 2; i++) type = t.optional(t.list(type));
    return type;
  })();
  const literals: Record<string, idl.core.Literal> = {
    struct: t.struct().toLiteral(deepObject(N)),
    lists: lists(N).toLiteral(deepArray(N) as never),
    unions: nested.toLiteral(deepArray(N / 2) as never),
    maps: (() => {
      let type: AnyFlyteType = t.file();
      let value: unknown = 'file:///tmp/a.csv';
      for (let i = 0; i < N; i++) {
        type = t.map(type);
        value = { k: value };
      }
      return type.toLiteral(value as never);
    })(),
  };
  const types: Record<string, idl.core.LiteralType> = {
    dataclasses: deepDataclass(N),
    metadata: t.struct({ schema: deepObject(N) }).literalType,
    unions: nested.literalType,
  };

  function within<T extends Parameters<typeof messageDepth>[0]>(
    schema: T,
    message: Parameters<typeof messageDepth<T>>[1],
  ): number {
    const depth = messageDepth(schema, message);
    // protobuf-es reads it back with its default recursion limit.
    fromBinary(schema, toBinary(schema, message));
    return depth;
  }

  it.each(Object.entries(literals))(
    'keeps every record holding %s nesting MAX_NESTING_DEPTH levels readable',
    (_name, value) => {
      expect(literalNesting(value)).toBe(N);
      const map = create(idl.core.LiteralMapSchema, { literals: { v: value } });
      const records = [
        within(
          idl.admin.ExecutionSchema,
          create(idl.admin.ExecutionSchema, {
            spec: { inputs: map },
            closure: { outputResult: { case: 'outputs', value: { data: { case: 'values', value: map } } } },
          }),
        ),
        within(
          idl.admin.NodeExecutionSchema,
          create(idl.admin.NodeExecutionSchema, {
            closure: { outputResult: { case: 'outputData', value: map } },
          }),
        ),
        within(
          idl.admin.TaskExecutionSchema,
          create(idl.admin.TaskExecutionSchema, {
            closure: { outputResult: { case: 'outputData', value: map } },
          }),
        ),
        within(
          idl.event.NodeExecutionEventSchema,
          create(idl.event.NodeExecutionEventSchema, {
            outputResult: { case: 'outputData', value: map },
          }),
        ),
        within(
          idl.admin.LaunchPlanSchema,
          create(idl.admin.LaunchPlanSchema, {
            spec: { defaultInputs: { parameters: { v: { behavior: { case: 'default', value } } } }, fixedInputs: map },
          }),
        ),
        within(idl.core.LiteralMapSchema, map),
      ];
      for (const depth of records) expect(depth).toBeLessThanOrEqual(MAX_MESSAGE_DEPTH);
    },
  );

  it.each(Object.entries(types))(
    'keeps every record holding %s types nesting MAX_NESTING_DEPTH levels readable',
    (_name, type) => {
      expect(literalTypeNesting(type)).toBe(N);
      const iface = { inputs: { variables: { v: { type } } }, outputs: { variables: { o: { type } } } };
      const records = [
        within(
          idl.admin.WorkflowSchema,
          create(idl.admin.WorkflowSchema, {
            closure: {
              compiledWorkflow: {
                primary: { template: { interface: iface } },
                tasks: [{ template: { interface: iface } }],
              },
            },
          }),
        ),
        within(
          idl.admin.TaskSchema,
          create(idl.admin.TaskSchema, {
            closure: { compiledTask: { template: { interface: iface } } },
          }),
        ),
        within(
          idl.admin.LaunchPlanSchema,
          create(idl.admin.LaunchPlanSchema, {
            closure: { expectedInputs: { parameters: { v: { var: { type } } } } },
          }),
        ),
      ];
      for (const depth of records) expect(depth).toBeLessThanOrEqual(MAX_MESSAGE_DEPTH);
    },
  );
});

describe("the Stores' guard of a transition", () => {
  /** A LiteralMap exactly `depth` messages deep: a map literal, then collections around an integer. */
  function literalMapOfDepth(depth: number): idl.core.LiteralMap {
    for (let lists = 0; lists < depth; lists++) {
      let literal = create(idl.core.LiteralSchema, {
        value: {
          case: 'scalar',
          value: { value: { case: 'primitive', value: { value: { case: 'integer', value: 1n } } } },
        },
      });
      for (let i = 0; i < lists; i++) {
        literal = create(idl.core.LiteralSchema, { value: { case: 'collection', value: { literals: [literal] } } });
      }
      literal = create(idl.core.LiteralSchema, { value: { case: 'map', value: { literals: { k: literal } } } });
      const map = create(idl.core.LiteralMapSchema, { literals: { v: literal } });
      if (messageDepth(idl.core.LiteralMapSchema, map, 1000) === depth) return map;
    }
    throw new Error(`no literal map of depth ${depth}`);
  }
  // Shared by every record and event below, as the engine shares outputs: fits where a node record holds it (3
  // messages down), not where an execution record does (4 down).
  const shared = literalMapOfDepth(MAX_MESSAGE_DEPTH - 2);
  const node = create(idl.admin.NodeExecutionSchema, {
    closure: { outputResult: { case: 'outputData', value: shared } },
  });
  const attempt = create(idl.admin.TaskExecutionSchema, {
    closure: { outputResult: { case: 'outputData', value: shared } },
  });
  const event = create(idl.event.NodeExecutionEventSchema, { outputResult: { case: 'outputData', value: shared } });
  const execution = create(idl.admin.ExecutionSchema, {
    closure: { outputResult: { case: 'outputs', value: { data: { case: 'values', value: shared } } } },
  });

  it('walks what records and events share as it sits in each: within the limit in one, beyond it in another', () => {
    expect(messageDepth(idl.admin.NodeExecutionSchema, node)).toBe(MAX_MESSAGE_DEPTH);
    expect(messageDepth(idl.admin.ExecutionSchema, execution)).toBe(MAX_MESSAGE_DEPTH + 1);
    const transition = (withExecution: boolean) => ({
      ...(withExecution ? { execution: { record: { execution }, expectedRevision: 1 } } : {}),
      nodeExecutions: [{ record: { nodeExecution: node, parentNodeId: '' }, expectedRevision: 0 }],
      taskExecutions: [{ record: { taskExecution: attempt }, expectedRevision: 0 }],
      events: [{ kind: 'node' as const, event }],
    });
    expect(codeOf(() => checkTransitionDepth(transition(false)))).toBe('none');
    expect(codeOf(() => checkTransitionDepth(transition(true)))).toBe('NESTING_TOO_DEEP');
    // The walks of one transition leave nothing behind for the next.
    expect(codeOf(() => checkTransitionDepth(transition(false)))).toBe('none');
    expect(codeOf(() => checkTransitionDepth({ execution: { record: { execution }, expectedRevision: 1 } }))).toBe(
      'NESTING_TOO_DEEP',
    );
  });
});

describe('hostile nesting gets NESTING_TOO_DEEP, never a stack overflow', () => {
  it('converts neither way a struct nesting 10,000 levels', () => {
    expect(codeOf(() => t.struct().toLiteral(deepObject(HOSTILE)))).toBe('NESTING_TOO_DEEP');
    const stored = literal({
      case: 'scalar',
      value: { $typeName: 'flyteidl.core.Scalar', value: { case: 'generic', value: deepObject(HOSTILE) } },
    });
    expect(codeOf(() => t.struct().fromLiteral(stored))).toBe('NESTING_TOO_DEEP');
    expect(codeOf(() => t.optional(t.struct()).toLiteral(deepObject(HOSTILE)))).toBe('NESTING_TOO_DEEP');
  });

  it('checks, hashes and encodes no collection nesting 10,000 levels', () => {
    const deep = deepCollection(HOSTILE);
    const map = create(idl.core.LiteralMapSchema, { literals: { xs: deep } });
    expect(codeOf(() => literalTypeForLiteral(deep))).toBe('NESTING_TOO_DEEP');
    expect(codeOf(() => hashLiteralMap(map))).toBe('NESTING_TOO_DEEP');
    expect(codeOf(() => encodeLiteralMap(map))).toBe('NESTING_TOO_DEEP');
    expect(idOf(() => encodeLiteralMap(map))).toBe('xs');
    expect(codeOf(() => t.list(t.int()).fromLiteral(deep))).toBe('TYPE_MISMATCH');
  });

  it('compares, converts and describes no type nesting 10,000 levels', () => {
    const deep = deepListType(HOSTILE);
    expect(codeOf(() => areTypesCastable(deep, deep))).toBe('NESTING_TOO_DEEP');
    expect(codeOf(() => literalTypesEqual(deep, deep))).toBe('NESTING_TOO_DEEP');
    expect(codeOf(() => typeFromLiteralType(deep))).toBe('NESTING_TOO_DEEP');
    expect(describeLiteralType(deep)).toMatch(/^list<list<.*…/);
  });

  it('refuses 5,000 nested conditionals where the nesting passes the limit', () => {
    const leaf = task({ name: 'nest.leaf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x }));
    let built = 0;
    const code = codeOf(() =>
      workflow({ name: 'nest.branches', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
        const nest = (level: number): ReturnType<typeof leaf> => {
          if (level === 5_000) return leaf({ x });
          built = level + 1;
          return conditional(`c${level}`)
            .if(x.gt(level))
            .then(() => nest(level + 1))
            .else(() => leaf({ x }));
        };
        return { y: nest(0).y };
      }),
    );
    expect(code).toBe('NESTING_TOO_DEEP');
    expect(built).toBe(N + 1);
  });

  it('refuses a condition of 10,000 and/or, built with and() or by hand', () => {
    const flag = task({ name: 'nest.flag2', outputs: { ok: t.boolean() } }, () => ({ ok: true }));
    const leaf = task({ name: 'nest.leaf2', outputs: { y: t.int() } }, () => ({ y: 1 }));
    let code = '';
    workflow({ name: 'nest.many-ands' }, () => {
      const { ok } = flag();
      const comparisons = Array.from({ length: HOSTILE }, () => ok.isTrue());
      code = codeOf(() => and(comparisons[0]!, ...comparisons.slice(1)));
      let byHand: BooleanExpression = ok.isTrue();
      for (let i = 0; i < HOSTILE; i++) byHand = { kind: 'conjunction', op: 'or', left: byHand, right: ok.isTrue() };
      expect(
        codeOf(() =>
          conditional('c')
            .if(byHand)
            .then(() => leaf())
            .else(() => leaf()),
        ),
      ).toBe('NESTING_TOO_DEEP');
    });
    expect(code).toBe('NESTING_TOO_DEEP');
  });
});
