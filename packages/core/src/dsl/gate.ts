// Gate nodes: sleep for a while, wait for a typed signal, or wait for an approval of a value.
import { DefinitionError } from '../errors.js';
import type { AnyFlyteType, KindOf, ValueOf } from '../types/flyte-type.js';
import { bindValue } from './bind.js';
import { checkPromiseScope, nodeOutputs, type NodeHandle } from './entities.js';
import { parseDuration, type DurationInput } from './options.js';
import { OutputPromise } from './promise.js';
import { currentScope } from './scope.js';
import type { LiteralType } from '../gen/flyteidl/core/index.js';

/** A gate node as recorded. */
export type GateRecord =
  | { readonly kind: 'sleep'; readonly durationMs: number }
  | { readonly kind: 'signal'; readonly signalId: string; readonly type: LiteralType; readonly outputName: string }
  | { readonly kind: 'approve'; readonly signalId: string };

/** Options of signal and approval gates. */
export interface GateOptions {
  /** How long to wait before the node times out (default 1 hour, as flytekit). */
  readonly timeout?: DurationInput;
}

const DEFAULT_GATE_TIMEOUT_MS = 3_600_000;
const SIGNAL_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function checkSignalId(id: unknown, what: string): asserts id is string {
  if (typeof id !== 'string' || !SIGNAL_ID.test(id)) {
    throw new DefinitionError('INVALID_DEFINITION', `${what}: signal name ${JSON.stringify(id)} is invalid`, {
      id: typeof id === 'string' ? id : undefined,
    });
  }
}

/** A node that waits for `duration` (milliseconds or text such as `'10m'`), then succeeds. */
export function sleep(duration: DurationInput): NodeHandle {
  const durationMs = parseDuration(duration, 'sleep duration');
  const scope = currentScope('sleep');
  const node = scope.add({
    target: { kind: 'gate', gate: { kind: 'sleep', durationMs } },
    inputs: new Map(),
    outputs: {},
    settings: { name: 'sleep-gate' },
  });
  return nodeOutputs(node);
}

/** A node that waits for a signal named `name` carrying a value of `type`; resolves to that value. */
export function waitForInput<T extends AnyFlyteType>(
  name: string,
  type: T,
  options: GateOptions = {},
): OutputPromise<ValueOf<T>, KindOf<T>> {
  checkSignalId(name, 'waitForInput');
  const scope = currentScope(`waitForInput(${name})`);
  const node = scope.add({
    target: { kind: 'gate', gate: { kind: 'signal', signalId: name, type: type.literalType, outputName: 'o0' } },
    inputs: new Map(),
    outputs: { o0: type.literalType },
    settings: {
      name,
      timeoutMs: parseDuration(options.timeout ?? DEFAULT_GATE_TIMEOUT_MS, `waitForInput(${name}) timeout`),
    },
  });
  return new OutputPromise(scope, node, 'o0', type.literalType);
}

/** A node that passes `value` on once a signal named `name` approves it. */
export function approve<V, K extends string>(
  value: OutputPromise<V, K>,
  name: string,
  options: GateOptions = {},
): OutputPromise<V, K> {
  checkSignalId(name, 'approve');
  const scope = currentScope(`approve(${name})`);
  if (!(value instanceof OutputPromise)) {
    throw new DefinitionError('INVALID_BINDING', `approve(${name}) needs a promise to approve`, { id: name });
  }
  if (value.attrPath.length > 0) {
    // Flyte types the approved value by the producer's declared output, not by a path into it.
    throw new DefinitionError(
      'INVALID_BINDING',
      `approve(${name}) approves whole outputs, not a path into ${value.var}`,
      {
        id: name,
      },
    );
  }
  const binding = bindValue(value, value.type, `approve(${name}).${value.var}`, (p, path) =>
    checkPromiseScope(scope, p, path),
  );
  const node = scope.add({
    target: { kind: 'gate', gate: { kind: 'approve', signalId: name } },
    inputs: new Map([[value.var, binding]]),
    outputs: { [value.var]: value.type },
    settings: {
      name,
      timeoutMs: parseDuration(options.timeout ?? DEFAULT_GATE_TIMEOUT_MS, `approve(${name}) timeout`),
    },
  });
  return new OutputPromise(scope, node, value.var, value.type);
}
