// The EventSink port: where the engine reports workflow, node and task execution events, as the flyteidl
// event messages (what FlyteAdmin receives from FlytePropeller).
import type { ExecutionEvent } from './store.js';

/**
 * Receives execution events. The engine emits events of one execution in order and after the transition
 * they describe is persisted. A sink must not block the engine for long; an error it throws is logged and
 * never fails the execution.
 */
export interface EventSink {
  /** Handles one event. */
  emit(event: ExecutionEvent): void | Promise<void>;
}
