// A failing workflow with an on-failure node: `charge` always fails, so the workflow fails; before it ends
// FAILED, the engine runs `releaseStock`, which receives the workflow inputs of the same names.
import { t, task, workflow, type idl } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import { runToEnd, settings, type RunResult } from './engine.js';

/** What {@link releaseStock} released, in this process. */
export const released: { order: string; quantity: number }[] = [];

/** Reserves stock for an order. */
export const reserveStock = task(
  {
    name: 'examples.on_failure.reserve_stock',
    inputs: { order: t.string(), quantity: t.int() },
    outputs: { reservation: t.string() },
  },
  ({ order, quantity }) => ({ reservation: `${order}:${quantity}` }),
);

/** Charges the customer: the payment provider declines, always. */
export const charge = task(
  { name: 'examples.on_failure.charge', inputs: { reservation: t.string() }, outputs: { receipt: t.string() } },
  ({ reservation }) => {
    throw new Error(`payment declined for ${reservation}`);
  },
);

/** The clean-up: gives the reserved stock back. Its inputs are matched to the workflow inputs by name. */
export const releaseStock = task(
  {
    name: 'examples.on_failure.release_stock',
    inputs: { order: t.string(), quantity: t.int() },
    outputs: { note: t.string() },
  },
  ({ order, quantity }) => {
    released.push({ order, quantity });
    return { note: `released ${quantity} for ${order}` };
  },
);

/** Reserve, then charge; releases the stock when anything fails. */
export const placeOrder = workflow(
  {
    name: 'examples.on_failure.place_order',
    inputs: { order: t.string(), quantity: t.int() },
    outputs: { receipt: t.string() },
    onFailure: releaseStock,
  },
  ({ order, quantity }) => {
    const { reservation } = reserveStock({ order, quantity });
    return { receipt: charge({ reservation }).receipt };
  },
);

/** A run of {@link placeOrder}. */
export interface OnFailureRun extends RunResult<typeof placeOrder.outputs> {
  /** The error the execution failed with. */
  readonly error: idl.core.ExecutionError | undefined;
  /** What the on-failure task released during the run. */
  readonly released: readonly { order: string; quantity: number }[];
}

/** Runs the order workflow; gives the FAILED result, its error, and what the on-failure task released. */
export async function runOnFailure(
  engine: Engine,
  order = 'order-42',
  quantity = 3,
  name = 'on-failure',
): Promise<OnFailureRun> {
  await engine.register([placeOrder], settings);
  const before = released.length;
  const result = await runToEnd(engine, placeOrder, name, { order, quantity });
  const outcome = result.execution.closure?.outputResult;
  const error = outcome?.case === 'error' ? outcome.value : undefined;
  return { ...result, error, released: released.slice(before) };
}
