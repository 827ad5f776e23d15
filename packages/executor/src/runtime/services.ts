// EngineServices: the ports, settings and shared machinery every execution runner uses.
import type { BlobStore, Catalog, Clock, DataStore, idl, ResourceManager, SecretProvider, Store } from '@flyte-ts/core';
import type { ResolvedConfig } from '../config.js';
import type { Metrics } from '../observability/metrics.js';
import type { Limiter } from './limiter.js';
import type { PluginRegistry } from '../plugins/registry.js';

/** Launches a child execution (launch plan nodes), idempotently by name. */
export interface ChildLauncher {
  /** Creates the execution unless one with that name exists; resolves to its id either way. */
  launchChild(request: {
    readonly name: string;
    readonly launchPlan: idl.core.Identifier;
    readonly inputs: idl.core.LiteralMap;
    readonly parent: idl.core.NodeExecutionIdentifier;
    readonly parentSpec: idl.admin.ExecutionSpec | undefined;
  }): Promise<idl.core.WorkflowExecutionIdentifier>;
  /** Terminates an execution (a child whose parent was aborted); a no-op when it already ended. */
  terminate(id: idl.core.WorkflowExecutionIdentifier, cause: string): Promise<void>;
  /** Subscribes `fn` to the end of an execution (called at most once). */
  onExecutionEnd(id: idl.core.WorkflowExecutionIdentifier, fn: () => void): void;
}

/** What every runner shares. */
export interface EngineServices {
  readonly store: Store;
  readonly blob: BlobStore;
  readonly data: DataStore;
  readonly catalog: Catalog | undefined;
  readonly plugins: PluginRegistry;
  readonly clock: Clock;
  readonly config: ResolvedConfig;
  readonly resourceManager: ResourceManager;
  readonly secrets: SecretProvider;
  readonly handleQueue: Limiter;
  readonly metrics: Metrics;
  readonly children: ChildLauncher;
  /**
   * Signals set through another engine reach this one only by polling (a Store shared through leases, without
   * notifications): gates waiting for a signal look for it again at `config.pollInterval`, doubling up to its cap.
   */
  readonly signalsPolled: boolean;
  /** Reports an error that must not fail anything (event sinks, cleanup). */
  readonly warn: (message: string, error?: unknown) => void;
}
