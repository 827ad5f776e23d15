// Counting the levels of nesting (see MAX_NESTING_DEPTH) of literals, types, JSON values, bindings and workflow
// nodes, without recursion: hostile input (a struct 10,000 levels deep, 5,000 nested branches) must get a coded
// error, not a stack overflow, so every walk here keeps its own stack and stops as soon as it passes the limit.
import type { JsonObject } from '@bufbuild/protobuf';
import type {
  BindingData,
  BooleanExpression,
  Literal,
  LiteralType,
  Node,
  Scalar,
  StructuredDatasetType,
  TaskTemplate,
  TypedInterface,
  WorkflowTemplate,
} from '../gen/flyteidl/core/index.js';

// What an item of the walk is. Each item sits at a level: the number of levels around it.
const LITERAL = 0;
const SCALAR = 1;
const TYPE = 2;
const JSON_VALUE = 3;
const BINDING = 4;
const NODE = 5;
const CONDITION = 6;
const DATASET = 7;

/**
 * True for a literal holding no container (a primitive, none, a blob, binary, an error): nesting 0, told without a
 * walk. Its messages reach at most 4 below it (`Literal → Scalar → Blob → BlobMetadata → BlobType`).
 */
export function isFlatLiteral(literal: Literal): boolean {
  const v = literal.value;
  if (v?.case !== 'scalar') return false;
  const s = v.value.value;
  return s?.case !== 'union' && s?.case !== 'generic' && s?.case !== 'structuredDataset';
}

/** The result of a walk: the deepest level found (the limit plus one when the walk stopped past it). */
export interface Nesting {
  /** Levels of the deepest path, or `limit + 1` when the walk stopped because it went past the limit. */
  readonly depth: number;
  /**
   * The innermost node on the deepest path, for walks of workflow nodes ('' otherwise): its id prefixed with the
   * ids of the branches and map tasks around it, as compilation names it (`n0-n1-n2`).
   */
  readonly nodeId: string;
}

/**
 * A walk over things that nest. Roots are added at a level; `run` counts, on its own stack, the levels below
 * them and stops at the first path deeper than the limit.
 */
export class NestingWalk {
  readonly #items: unknown[] = [];
  readonly #kinds: number[] = [];
  readonly #levels: number[] = [];
  readonly #owners: string[] = [];
  readonly #limit: number;
  #depth = 0;
  #deepestNode = '';

  /** @param limit the most levels allowed; the walk stops past it */
  constructor(limit: number) {
    this.#limit = limit;
  }

  #push(kind: number, item: unknown, level: number, owner: string): void {
    if (item === undefined || item === null) return;
    this.#items.push(item);
    this.#kinds.push(kind);
    this.#levels.push(level);
    this.#owners.push(owner);
  }

  /** Adds a literal whose containers count from `level`. */
  literal(literal: Literal | undefined, level = 0): this {
    this.#push(LITERAL, literal, level, '');
    return this;
  }

  /** Adds a literal type whose containers count from `level`. */
  type(type: LiteralType | undefined, level = 0): this {
    this.#push(TYPE, type, level, '');
    return this;
  }

  /** Adds a JSON value (arrays and plain objects count; anything else is a leaf). */
  json(value: unknown, level = 0): this {
    this.#push(JSON_VALUE, value, level, '');
    return this;
  }

  /** Adds the binding data of a binding. */
  binding(binding: BindingData | undefined, level = 0, owner = ''): this {
    this.#push(BINDING, binding, level, owner);
    return this;
  }

  /** Adds a workflow node: its bindings, branches (cases one level deeper), conditions and signal types. */
  node(node: Node | undefined, level = 0): this {
    this.#push(NODE, node, level, '');
    return this;
  }

  /** Adds the types of an interface's inputs and outputs. */
  interface(iface: TypedInterface | undefined, level = 0): this {
    for (const variable of Object.values(iface?.inputs?.variables ?? {})) this.type(variable.type, level);
    for (const variable of Object.values(iface?.outputs?.variables ?? {})) this.type(variable.type, level);
    return this;
  }

  /** Adds a workflow template: its interface, nodes, failure node and output bindings. */
  workflow(template: WorkflowTemplate | undefined): this {
    if (template === undefined) return this;
    this.interface(template.interface);
    for (const node of template.nodes) this.node(node);
    this.node(template.failureNode);
    for (const output of template.outputs) this.binding(output.binding, 0, 'end-node');
    return this;
  }

  /** Adds a task template: its interface, custom configuration and pod spec. */
  task(template: TaskTemplate | undefined): this {
    if (template === undefined) return this;
    this.interface(template.interface);
    this.json(template.custom);
    if (template.target.case === 'k8sPod') this.json(template.target.value.podSpec);
    return this;
  }

  /** Walks everything added; the result's depth is `limit + 1` when something nests deeper than the limit. */
  run(): Nesting {
    const items = this.#items;
    const kinds = this.#kinds;
    const levels = this.#levels;
    const owners = this.#owners;
    while (items.length > 0) {
      const item = items.pop();
      const kind = kinds.pop()!;
      const level = levels.pop()!;
      const owner = owners.pop()!;
      if (!this.#visit(kind, item, level, owner)) return { depth: this.#limit + 1, nodeId: this.#deepestNode };
    }
    return { depth: this.#depth, nodeId: this.#deepestNode };
  }

  /** Counts a container at `level` (its contents are one level deeper); false past the limit. */
  #container(level: number, owner: string): boolean {
    const depth = level + 1;
    if (depth > this.#limit) {
      this.#deepestNode = owner;
      return false;
    }
    if (depth > this.#depth) {
      this.#depth = depth;
      this.#deepestNode = owner;
    }
    return true;
  }

  #visit(kind: number, item: unknown, level: number, owner: string): boolean {
    switch (kind) {
      case LITERAL:
        return this.#literal(item as Literal, level, owner);
      case SCALAR:
        return this.#scalar(item as Scalar, level, owner);
      case TYPE:
        return this.#type(item as LiteralType, level, owner);
      case JSON_VALUE:
        return this.#json(item, level, owner);
      case BINDING:
        return this.#binding(item as BindingData, level, owner);
      case NODE:
        return this.#node(item as Node, level, owner);
      case CONDITION:
        return this.#condition(item as BooleanExpression, level, owner);
      case DATASET:
        return this.#dataset(item as StructuredDatasetType, level, owner);
      default:
        return true;
    }
  }

  #literal(literal: Literal, level: number, owner: string): boolean {
    const v = literal.value;
    switch (v?.case) {
      case 'collection':
        if (!this.#container(level, owner)) return false;
        for (const item of v.value.literals) this.#push(LITERAL, item, level + 1, owner);
        return true;
      case 'map':
        if (!this.#container(level, owner)) return false;
        for (const key in v.value.literals) {
          if (Object.hasOwn(v.value.literals, key)) this.#push(LITERAL, v.value.literals[key], level + 1, owner);
        }
        return true;
      case 'scalar':
        this.#push(SCALAR, v.value, level, owner);
        return true;
      case 'offloadedMetadata':
        if (!this.#container(level, owner)) return false;
        this.#push(TYPE, v.value.inferredType, level + 1, owner);
        return true;
      default:
        return true;
    }
  }

  #scalar(scalar: Scalar, level: number, owner: string): boolean {
    const s = scalar.value;
    switch (s?.case) {
      case 'union':
        if (!this.#container(level, owner)) return false;
        this.#push(LITERAL, s.value.value, level + 1, owner);
        this.#push(TYPE, s.value.type, level + 1, owner);
        return true;
      case 'generic':
        this.#push(JSON_VALUE, s.value, level, owner);
        return true;
      case 'structuredDataset':
        if (!this.#container(level, owner)) return false;
        this.#push(DATASET, s.value.metadata?.structuredDatasetType, level + 1, owner);
        return true;
      default:
        return true;
    }
  }

  #type(type: LiteralType, level: number, owner: string): boolean {
    const t = type.type;
    switch (t?.case) {
      case 'collectionType':
      case 'mapValueType':
        if (!this.#container(level, owner)) return false;
        this.#push(TYPE, t.value, level + 1, owner);
        break;
      case 'unionType':
        if (!this.#container(level, owner)) return false;
        for (const variant of t.value.variants) this.#push(TYPE, variant, level + 1, owner);
        break;
      case 'structuredDatasetType':
        this.#push(DATASET, t.value, level, owner);
        break;
      default:
        break;
    }
    if (type.metadata !== undefined) this.#push(JSON_VALUE, type.metadata, level, owner);
    const annotations: JsonObject | undefined = type.annotation?.annotations;
    if (annotations !== undefined) this.#push(JSON_VALUE, annotations, level, owner);
    const fields = type.structure?.dataclassType;
    if (fields !== undefined) {
      let first = true;
      for (const key in fields) {
        if (!Object.hasOwn(fields, key)) continue;
        if (first && !this.#container(level, owner)) return false;
        first = false;
        this.#push(TYPE, fields[key], level + 1, owner);
      }
    }
    return true;
  }

  #dataset(type: StructuredDatasetType, level: number, owner: string): boolean {
    if (!this.#container(level, owner)) return false;
    for (const column of type.columns) this.#push(TYPE, column.literalType, level + 1, owner);
    return true;
  }

  #json(value: unknown, level: number, owner: string): boolean {
    if (Array.isArray(value)) {
      if (!this.#container(level, owner)) return false;
      for (const item of value) if (typeof item === 'object') this.#push(JSON_VALUE, item, level + 1, owner);
      return true;
    }
    if (typeof value !== 'object' || value === null) return true;
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return true;
    if (!this.#container(level, owner)) return false;
    const record = value as Record<string, unknown>;
    for (const key in record) {
      if (!Object.hasOwn(record, key)) continue;
      const item = record[key];
      if (typeof item === 'object') this.#push(JSON_VALUE, item, level + 1, owner);
    }
    return true;
  }

  #binding(binding: BindingData, level: number, owner: string): boolean {
    const v = binding.value;
    switch (v?.case) {
      case 'collection':
        if (!this.#container(level, owner)) return false;
        for (const item of v.value.bindings) this.#push(BINDING, item, level + 1, owner);
        break;
      case 'map':
        if (!this.#container(level, owner)) return false;
        for (const key in v.value.bindings) {
          if (Object.hasOwn(v.value.bindings, key)) this.#push(BINDING, v.value.bindings[key], level + 1, owner);
        }
        break;
      case 'scalar':
        this.#push(SCALAR, v.value, level, owner);
        break;
      case 'offloadedMetadata':
        if (!this.#container(level, owner)) return false;
        this.#push(TYPE, v.value.inferredType, level + 1, owner);
        break;
      default:
        break;
    }
    const union = binding.union?.targetType;
    if (union !== undefined) {
      if (!this.#container(level, owner)) return false;
      this.#push(TYPE, union, level + 1, owner);
    }
    return true;
  }

  #node(node: Node, level: number, parent: string): boolean {
    // A node in a branch case or a map task is named after its parent, as compilation renames it (`n0-n1`).
    const id = parent === '' ? node.id : `${parent}-${node.id}`;
    for (const input of node.inputs) this.#push(BINDING, input.binding, level, id);
    const target = node.target;
    switch (target?.case) {
      case 'branchNode': {
        const ifElse = target.value.ifElse;
        if (ifElse === undefined) break;
        if (!this.#container(level, id)) return false;
        for (const block of ifElse.case === undefined ? ifElse.other : [ifElse.case, ...ifElse.other]) {
          this.#push(CONDITION, block.condition, level + 1, id);
          this.#push(NODE, block.thenNode, level + 1, id);
        }
        if (ifElse.default.case === 'elseNode') this.#push(NODE, ifElse.default.value, level + 1, id);
        break;
      }
      case 'arrayNode':
        if (!this.#container(level, id)) return false;
        this.#push(NODE, target.value.node, level + 1, id);
        break;
      case 'gateNode':
        if (target.value.condition.case === 'signal') this.#push(TYPE, target.value.condition.value.type, level, id);
        break;
      case 'taskNode':
        // A pod template's spec sits four messages below the node: it counts one level more than its objects.
        this.#push(JSON_VALUE, target.value.overrides?.podTemplate?.podSpec, level + 1, id);
        break;
      default:
        break;
    }
    return true;
  }

  #condition(expression: BooleanExpression, level: number, owner: string): boolean {
    const e = expression.expr;
    if (e?.case === 'conjunction') {
      if (!this.#container(level, owner)) return false;
      this.#push(CONDITION, e.value.leftExpression, level + 1, owner);
      this.#push(CONDITION, e.value.rightExpression, level + 1, owner);
    } else if (e?.case === 'comparison') {
      // An operand's scalar sits three messages below the expression: its containers count one level more.
      for (const operand of [e.value.leftValue, e.value.rightValue]) {
        if (operand?.val.case === 'scalar') this.#push(SCALAR, operand.val.value, level + 1, owner);
      }
    }
    return true;
  }
}
