// Execution clusters: the Kubernetes clusters a plugin may create its objects in, and the choice among them
// (by a label the execution asks for, else by weight), deterministic per attempt so a repeated `handle` goes
// back to the same cluster.
import { KubeConfig } from '@kubernetes/client-node';

/** A Kubernetes cluster work may run on. */
export interface K8sCluster {
  /** Unique name of the cluster (recorded in the plugin state). */
  readonly name: string;
  /** How to reach it. */
  readonly kubeConfig: KubeConfig;
  /** Execution-cluster labels it serves (Flyte's `execution_cluster_label`); unlabelled work goes to any cluster. */
  readonly labels?: readonly string[];
  /** Share of unlabelled work it takes relative to the others (default 1; 0 takes labelled work only). */
  readonly weight?: number;
}

/** Raised when no cluster serves the requested label. */
export class NoClusterError extends Error {
  /** Stable code. */
  readonly code = 'NoExecutionCluster';

  /** @param label the label no cluster serves */
  constructor(readonly label: string | undefined) {
    super(
      label === undefined
        ? 'no execution cluster has a weight above 0: configure at least one cluster'
        : `no execution cluster serves the label ${JSON.stringify(label)}: add it to a cluster's labels`,
    );
    this.name = 'NoClusterError';
  }
}

/**
 * Chooses the cluster of an attempt: among the clusters serving `label` if one is given, else among those with a
 * positive weight, in proportion to the weights. The choice is a pure function of `key` (the attempt's generated
 * name), so repeated calls agree.
 */
export function selectCluster(clusters: readonly K8sCluster[], key: string, label?: string): K8sCluster {
  const candidates =
    label === undefined
      ? clusters.filter((c) => (c.weight ?? 1) > 0)
      : clusters.filter((c) => c.labels?.includes(label) === true);
  if (candidates.length === 0) throw new NoClusterError(label);
  const weights = candidates.map((c) => (label === undefined ? (c.weight ?? 1) : Math.max(c.weight ?? 1, 1)));
  const total = weights.reduce((a, b) => a + b, 0);
  let point = (fnv1a(key) / 0x1_0000_0000) * total;
  for (let i = 0; i < candidates.length; i++) {
    point -= weights[i]!;
    if (point < 0) return candidates[i]!;
  }
  return candidates[candidates.length - 1]!;
}

/** A KubeConfig for an API server URL (http URLs skip TLS verification, which they do not use). */
export function kubeConfigFor(server: string, options: { readonly token?: string } = {}): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'cluster', server, skipTLSVerify: server.startsWith('http://') }],
    users: [{ name: 'user', ...(options.token === undefined ? {} : { token: options.token }) }],
    contexts: [{ name: 'context', cluster: 'cluster', user: 'user' }],
    currentContext: 'context',
  });
  return kc;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}
