// The contract of the Store's optional `notifications` capability, part of the Store contract suite: each test
// is skipped (at run time, saying why) when the adapter lacks the capability. Tests wait for the notices they
// expect; they prove that a notice is NOT delivered by publishing a marker after it and checking that the
// marker arrives alone (notices of one publisher arrive in order).
import { expect, it, type TestContext } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { ExecutionClosureSchema } from '../gen/flyteidl/admin/index.js';
import { WorkflowExecution_Phase, type WorkflowExecutionIdentifier } from '../gen/flyteidl/core/index.js';
import type { Store } from '../ports/store.js';
import type { ExecutionNotice, StoreNotifications } from '../ports/store-notifications.js';
import { execId, makeExecution } from './store-fixtures.js';
import { expectCode, unique } from './support.js';

const DOMAIN = 'development';

/** Collects the notices of one project (tests share the adapter, so each listens to its own project only). */
class Collector {
  readonly notices: ExecutionNotice[] = [];
  readonly #project: string;
  #waiters: { readonly count: number; readonly resolve: () => void }[] = [];

  constructor(project: string) {
    this.#project = project;
  }

  readonly listener = {
    notice: (notice: ExecutionNotice): void => {
      if (notice.execution.project !== this.#project) return;
      this.notices.push(notice);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (this.notices.length < waiter.count) return true;
        waiter.resolve();
        return false;
      });
    },
  };

  /** Resolves once `count` notices arrived. */
  until(count: number): Promise<void> {
    if (this.notices.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}

function describeNotice(notice: ExecutionNotice): string {
  return `${notice.kind} ${notice.execution.project}/${notice.execution.domain}/${notice.execution.name}`;
}

/**
 * Registers the tests of `Store.notifications` in the current `describe` block.
 * @param getStore the Store under test (available once the suite's `beforeAll` ran)
 */
export function notificationsContract(getStore: () => Store): void {
  function capability(context: TestContext): StoreNotifications {
    const notifications = getStore().notifications;
    if (notifications === undefined) return context.skip('the Store has no notifications (an optional capability)');
    return notifications;
  }

  it('delivers published notices to every subscriber, in order, with their kind and execution', async (context) => {
    const notifications = capability(context);
    const project = unique('proj');
    const a = new Collector(project);
    const b = new Collector(project);
    const subscriptions = [await notifications.subscribe(a.listener), await notifications.subscribe(b.listener)];
    const published: ExecutionNotice[] = [
      { kind: 'created', execution: execId(project, DOMAIN, 'one') },
      { kind: 'terminate', execution: execId(project, DOMAIN, 'two') },
      { kind: 'signal', execution: execId(project, DOMAIN, 'three') },
    ];
    await notifications.publish(published.slice(0, 2));
    await notifications.publish(published.slice(2));
    await Promise.all([a.until(3), b.until(3)]);
    for (const collector of [a, b]) {
      expect(collector.notices.map(describeNotice)).toEqual(published.map(describeNotice));
    }
    await Promise.all(subscriptions.map((s) => s.close()));
  });

  it('delivers the notices of a commit once it is visible, and never those of a refused commit', async (context) => {
    const store = getStore();
    const notifications = capability(context);
    const project = unique('proj');
    const id: WorkflowExecutionIdentifier = execId(project, DOMAIN, 'aborted');
    const record = await store.createExecution({ execution: makeExecution(id) });
    const collector = new Collector(project);
    let read: Promise<WorkflowExecution_Phase | undefined> | undefined;
    const subscription = await notifications.subscribe({
      notice: (notice) => {
        collector.listener.notice(notice);
        // What a subscriber reads on the notice: the commit is visible.
        if (notice.kind === 'terminate' && notice.execution.project === project) {
          read ??= store.getExecution(id).then((r) => r?.execution.closure?.phase);
        }
      },
    });
    const aborting = {
      ...record.execution,
      closure: {
        ...(record.execution.closure ?? create(ExecutionClosureSchema)),
        phase: WorkflowExecution_Phase.ABORTING,
      },
    };
    const terminate: ExecutionNotice = { kind: 'terminate', execution: id };
    await expectCode(
      store.commit({ execution: { record: { execution: aborting }, expectedRevision: 99 }, notices: [terminate] }),
      'CONFLICT',
    );
    await store.commit({
      execution: { record: { execution: aborting }, expectedRevision: record.revision },
      notices: [terminate],
    });
    const marker: ExecutionNotice = { kind: 'signal', execution: execId(project, DOMAIN, 'marker') };
    await notifications.publish([marker]);
    await collector.until(2);
    expect(collector.notices.map(describeNotice)).toEqual([terminate, marker].map(describeNotice));
    expect(await read).toBe(WorkflowExecution_Phase.ABORTING);
    await subscription.close();
  });

  it('stops calling a listener once its subscription is closed', async (context) => {
    const notifications = capability(context);
    const project = unique('proj');
    const closed = new Collector(project);
    const open = new Collector(project);
    const first = await notifications.subscribe(closed.listener);
    const second = await notifications.subscribe(open.listener);
    await first.close();
    await first.close();
    await notifications.publish([{ kind: 'created', execution: execId(project, DOMAIN, 'after-close') }]);
    await open.until(1);
    expect(closed.notices).toEqual([]);
    await second.close();
  });

  it('refuses notices without an execution or of an unknown kind, and commits nothing with them', async (context) => {
    const store = getStore();
    const notifications = capability(context);
    const project = unique('proj');
    const id = execId(project, DOMAIN, 'bad-notice');
    const record = await store.createExecution({ execution: makeExecution(id) });
    const noProject = { kind: 'created', execution: execId('', DOMAIN, 'x') } as const;
    const badKind = { kind: 'exploded', execution: id } as unknown as ExecutionNotice;
    await expectCode(notifications.publish([noProject]), 'INVALID_ARGUMENT');
    await expectCode(notifications.publish([badKind]), 'INVALID_ARGUMENT');
    await expectCode(
      store.commit({
        execution: { record: { execution: record.execution }, expectedRevision: record.revision },
        notices: [badKind],
      }),
      'INVALID_ARGUMENT',
    );
    expect((await store.getExecution(id))?.revision).toBe(record.revision);
  });
}
