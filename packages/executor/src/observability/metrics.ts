// Metrics through @opentelemetry/api (no-op unless the application installs an SDK): acceptance, transition,
// queueing and completion latency, success and failure durations, tagged project:domain:workflow.
import { metrics, type Attributes, type Histogram, type Meter } from '@opentelemetry/api';
import type { idl } from '@flyte-ts/core';

/** What metrics need of an execution. */
export interface MetricsSubject {
  /** The execution. */
  readonly execution: idl.admin.Execution;
}

/** The engine's instruments. */
export class Metrics {
  private readonly acceptanceLatency: Histogram;
  private readonly transitionLatency: Histogram;
  private readonly queueingLatency: Histogram;
  private readonly completionLatency: Histogram;
  private readonly successDuration: Histogram;
  private readonly failureDuration: Histogram;
  private readonly rowsPerCommit: Histogram;

  /** @param meter the meter to record with (default: the global meter provider's `@flyte-ts/executor`) */
  constructor(meter: Meter = metrics.getMeter('@flyte-ts/executor')) {
    const ms = { unit: 'ms' };
    this.acceptanceLatency = meter.createHistogram('flyte.execution.acceptance_latency', {
      ...ms,
      description: 'From the creation of an execution to its first node running',
    });
    this.transitionLatency = meter.createHistogram('flyte.execution.transition_latency', {
      ...ms,
      description: 'Time to persist one transition (a commit of one or more node changes)',
    });
    this.queueingLatency = meter.createHistogram('flyte.node.queueing_latency', {
      ...ms,
      description: 'From a node being ready to it running',
    });
    this.completionLatency = meter.createHistogram('flyte.execution.completion_latency', {
      ...ms,
      description: 'From the start of an execution to its end',
    });
    this.successDuration = meter.createHistogram('flyte.execution.success_duration', ms);
    this.failureDuration = meter.createHistogram('flyte.execution.failure_duration', ms);
    this.rowsPerCommit = meter.createHistogram('flyte.execution.rows_per_commit', {
      description: 'Node and task execution rows written by one commit',
    });
  }

  /** An execution was accepted and started after `ms`. */
  acceptance(subject: MetricsSubject, ms: number): void {
    this.acceptanceLatency.record(ms, tags(subject));
  }

  /** A node waited `ms` between ready and running. */
  queueing(subject: MetricsSubject, ms: number): void {
    this.queueingLatency.record(ms, tags(subject));
  }

  /** A commit of `rows` rows took `ms`. */
  transition(subject: MetricsSubject, ms: number, rows: number): void {
    const t = tags(subject);
    this.transitionLatency.record(ms, t);
    this.rowsPerCommit.record(rows, t);
  }

  /** An execution ended after `ms`. */
  executionEnded(subject: MetricsSubject, ms: number, succeeded: boolean): void {
    const t = tags(subject);
    this.completionLatency.record(ms, t);
    (succeeded ? this.successDuration : this.failureDuration).record(ms, t);
  }
}

// The tags of an execution, made once per subject (a runner records a queueing latency per node).
const tagsOf = new WeakMap<MetricsSubject, { readonly of: idl.admin.Execution; readonly tags: Attributes }>();

function tags(subject: MetricsSubject): Attributes {
  const cached = tagsOf.get(subject);
  if (cached !== undefined && sameTags(cached.of, subject.execution)) return cached.tags;
  const made = makeTags(subject);
  tagsOf.set(subject, { of: subject.execution, tags: made });
  return made;
}

function sameTags(a: idl.admin.Execution, b: idl.admin.Execution): boolean {
  return (
    a === b ||
    (a.id?.project === b.id?.project &&
      a.id?.domain === b.id?.domain &&
      a.closure?.workflowId?.name === b.closure?.workflowId?.name)
  );
}

function makeTags(subject: MetricsSubject): Attributes {
  const id = subject.execution.id;
  const workflow = subject.execution.closure?.workflowId?.name ?? '';
  return {
    project: id?.project ?? '',
    domain: id?.domain ?? '',
    workflow,
    scope: `${id?.project ?? ''}:${id?.domain ?? ''}:${workflow}`,
  };
}
