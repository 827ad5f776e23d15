// EventIndex: the identities (entity, phase, occurred_at) of the events logged for one execution, so that a
// retried commit does not log an event twice. Kept as numbers per entity rather than one string per event: the
// engine logs three events per task node, and every string key would live as long as the store.

/** What makes an event the same as another. */
export interface EventIdentity {
  readonly kind: 'workflow' | 'node' | 'task';
  /** The node id, or the task execution key; empty for the workflow. */
  readonly entity: string;
  readonly phase: number;
  /** occurred_at: seconds (exact as a number for any real time) and nanos; NaN when absent. */
  readonly seconds: number;
  readonly nanos: number;
}

/** Identities of events, by entity. */
export class EventIndex {
  readonly #workflow: number[] = [];
  readonly #nodes = new Map<string, number[]>();
  readonly #tasks = new Map<string, number[]>();

  /** Whether an event with this identity was added. */
  has(identity: EventIdentity): boolean {
    const list = this.#list(identity, false);
    if (list === undefined) return false;
    for (let i = 0; i < list.length; i += 3) {
      if (list[i] === identity.phase && same(list[i + 1]!, identity.seconds) && same(list[i + 2]!, identity.nanos)) {
        return true;
      }
    }
    return false;
  }

  /** Adds an identity. */
  add(identity: EventIdentity): void {
    this.#list(identity, true)!.push(identity.phase, identity.seconds, identity.nanos);
  }

  #list(identity: EventIdentity, create: boolean): number[] | undefined {
    if (identity.kind === 'workflow') return this.#workflow;
    const map = identity.kind === 'node' ? this.#nodes : this.#tasks;
    let list = map.get(identity.entity);
    if (list === undefined && create) map.set(identity.entity, (list = []));
    return list;
  }
}

/** Equality where an absent time (NaN) equals another absent time. */
function same(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}
