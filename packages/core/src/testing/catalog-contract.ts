// The Catalog contract: memoization and reservation guarantees of the Catalog port as a vitest suite. One
// catalog instance serves the suite; each test uses datasets of its own.
import { create, equals } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetIDSchema } from '../gen/flyteidl/datacatalog/index.js';
import { LiteralMapSchema, TaskExecutionIdentifierSchema, type LiteralMap } from '../gen/flyteidl/core/index.js';
import { collectionLiteral, primitiveLiteral } from '../literals/make.js';
import { nodeExecutionId, executionId, taskId } from '../identifiers.js';
import type { Catalog, CatalogKey } from '../ports/catalog.js';
import { abortedSignal, BASE_MS, expectAbortReason, unique } from './support.js';

/** A Catalog to run the contract against. */
export interface CatalogUnderTest {
  /** The adapter. */
  readonly catalog: Catalog;
  /** Called once after the suite. */
  readonly cleanup?: (() => Promise<void>) | undefined;
}

/** Creates the Catalog under test; called once per suite. */
export type CatalogFactory = () => Promise<CatalogUnderTest>;

const SETUP_TIMEOUT_MS = 120_000;

function key(overrides: { name?: string; version?: string; tag?: string; project?: string } = {}): CatalogKey {
  return {
    dataset: create(DatasetIDSchema, {
      project: overrides.project ?? 'catalog-project',
      domain: 'development',
      name: overrides.name ?? unique('flyte_task-contract'),
      version: overrides.version ?? '1.0-abcdefgh-ijklmnop',
    }),
    tag: overrides.tag ?? 'flyte_cached-inputs-hash',
  };
}

function outputs(n: number): LiteralMap {
  return create(LiteralMapSchema, {
    literals: {
      o0: primitiveLiteral({ case: 'integer', value: BigInt(n) }),
      o1: primitiveLiteral({ case: 'stringValue', value: `value ${n}` }),
      o2: collectionLiteral([primitiveLiteral({ case: 'floatValue', value: n / 3 })]),
    },
  });
}

function source(attempt: number) {
  return create(TaskExecutionIdentifierSchema, {
    taskId: taskId({ project: 'catalog-project', domain: 'development', name: 'contract', version: 'v1' }),
    nodeExecutionId: nodeExecutionId(
      executionId({ project: 'catalog-project', domain: 'development', name: 'e1' }),
      'n0',
    ),
    retryAttempt: attempt,
  });
}

/**
 * Registers the Catalog contract suite: misses, put/get round trips, keys that differ by tag or dataset,
 * first-put-wins unless overwrite, concurrent puts, and reservations (one owner at a time, extension by the same
 * owner, expiry by the caller's clock, release).
 * @param name the adapter's name, shown in the test report
 * @param factory creates the adapter once for the whole suite
 */
export function catalogContract(name: string, factory: CatalogFactory): void {
  describe(`${name} (Catalog contract)`, () => {
    let subject: CatalogUnderTest | undefined;
    let catalog: Catalog;

    beforeAll(async () => {
      subject = await factory();
      catalog = subject.catalog;
    }, SETUP_TIMEOUT_MS);

    afterAll(async () => {
      await subject?.cleanup?.();
    }, SETUP_TIMEOUT_MS);

    it('misses on a key that was never put', async () => {
      expect(await catalog.get(key())).toBeUndefined();
    });

    it('returns the outputs put under a key, with the artifact of its dataset and tag', async () => {
      const k = key();
      const entry = await catalog.put(k, outputs(1), { source: source(2) });
      expect(equals(LiteralMapSchema, entry.outputs, outputs(1))).toBe(true);

      const read = await catalog.get(k);
      expect(read).toBeDefined();
      expect(equals(LiteralMapSchema, read!.outputs, outputs(1))).toBe(true);
      expect(equals(DatasetIDSchema, read!.artifact.dataset!, k.dataset)).toBe(true);
      expect(read!.artifact.tags.map((tag) => tag.name)).toContain(k.tag);
      expect(read!.artifact.id).not.toBe('');
      expect(read!.artifact.data.map((d) => d.name).sort()).toEqual(['o0', 'o1', 'o2']);
      expect(read!.source?.retryAttempt).toBe(2);
      expect(read!.source?.nodeExecutionId?.nodeId).toBe('n0');
      expect(read!.source?.nodeExecutionId?.executionId?.name).toBe('e1');
    });

    it('misses when the tag, the dataset name or the dataset version differs', async () => {
      const k = key();
      await catalog.put(k, outputs(2));
      expect(await catalog.get({ ...k, tag: 'flyte_cached-other-inputs' })).toBeUndefined();
      expect(
        await catalog.get({ ...k, dataset: create(DatasetIDSchema, { ...k.dataset, name: `${k.dataset.name}-x` }) }),
      ).toBeUndefined();
      expect(
        await catalog.get({
          ...k,
          dataset: create(DatasetIDSchema, { ...k.dataset, version: '2.0-abcdefgh-ijklmnop' }),
        }),
      ).toBeUndefined();
      expect(
        await catalog.get({ ...k, dataset: create(DatasetIDSchema, { ...k.dataset, project: 'elsewhere' }) }),
      ).toBeUndefined();
      expect(await catalog.get(k)).toBeDefined();
    });

    it('keeps the first artifact under a tag unless overwrite, and resolves to what is cached', async () => {
      const k = key();
      await catalog.put(k, outputs(1));
      const second = await catalog.put(k, outputs(2));
      expect(equals(LiteralMapSchema, second.outputs, outputs(1)), 'a second put resolves to the first entry').toBe(
        true,
      );
      expect(equals(LiteralMapSchema, (await catalog.get(k))!.outputs, outputs(1))).toBe(true);

      const replaced = await catalog.put(k, outputs(3), { overwrite: true });
      expect(equals(LiteralMapSchema, replaced.outputs, outputs(3))).toBe(true);
      expect(equals(LiteralMapSchema, (await catalog.get(k))!.outputs, outputs(3))).toBe(true);
    });

    it('resolves concurrent puts under one tag to the same winner', async () => {
      const k = key();
      const entries = await Promise.all([1, 2, 3, 4].map((n) => catalog.put(k, outputs(n))));
      const winner = (await catalog.get(k))!;
      for (const entry of entries) {
        expect(equals(LiteralMapSchema, entry.outputs, winner.outputs)).toBe(true);
        expect(entry.artifact.id).toBe(winner.artifact.id);
      }
    });

    it('keeps results of different tags of one dataset apart', async () => {
      const k = key();
      const other = { ...k, tag: 'flyte_cached-second' };
      await catalog.put(k, outputs(1));
      await catalog.put(other, outputs(2));
      expect(equals(LiteralMapSchema, (await catalog.get(k))!.outputs, outputs(1))).toBe(true);
      expect(equals(LiteralMapSchema, (await catalog.get(other))!.outputs, outputs(2))).toBe(true);
    });

    describe('reservations', () => {
      const HEARTBEAT = 10_000;
      const at = (ms: number) => ({ heartbeatMs: HEARTBEAT, now: new Date(BASE_MS + ms) });

      it('gives a free key to the first owner and refuses others while it holds it', async () => {
        const k = key();
        const a = await catalog.getOrExtendReservation(k, 'owner-a', at(0));
        expect(a.acquired).toBe(true);
        expect(a.reservation.ownerId).toBe('owner-a');
        expect(a.reservation.reservationId?.tagName).toBe(k.tag);
        expect(equals(DatasetIDSchema, a.reservation.reservationId!.datasetId!, k.dataset)).toBe(true);

        const b = await catalog.getOrExtendReservation(k, 'owner-b', at(HEARTBEAT - 1));
        expect(b.acquired).toBe(false);
        expect(b.reservation.ownerId).toBe('owner-a');
      });

      it('lets the owner extend its reservation, which then outlives the first expiry', async () => {
        const k = key();
        await catalog.getOrExtendReservation(k, 'owner-a', at(0));
        const again = await catalog.getOrExtendReservation(k, 'owner-a', at(HEARTBEAT / 2));
        expect(again.acquired).toBe(true);
        expect(again.reservation.ownerId).toBe('owner-a');
        const b = await catalog.getOrExtendReservation(k, 'owner-b', at(HEARTBEAT + 1));
        expect(b.acquired).toBe(false);
        expect(b.reservation.ownerId).toBe('owner-a');
      });

      it('lets another owner take a reservation that expired by the caller clock', async () => {
        const k = key();
        await catalog.getOrExtendReservation(k, 'owner-a', at(0));
        const b = await catalog.getOrExtendReservation(k, 'owner-b', at(HEARTBEAT));
        expect(b.acquired).toBe(true);
        expect(b.reservation.ownerId).toBe('owner-b');
        const a = await catalog.getOrExtendReservation(k, 'owner-a', at(HEARTBEAT + 1));
        expect(a.acquired).toBe(false);
        expect(a.reservation.ownerId).toBe('owner-b');
      });

      it('frees a released reservation at once; release by another owner, or of nothing, is a no-op', async () => {
        const k = key();
        await catalog.releaseReservation(k, 'owner-a');
        await catalog.getOrExtendReservation(k, 'owner-a', at(0));
        await catalog.releaseReservation(k, 'owner-b');
        expect((await catalog.getOrExtendReservation(k, 'owner-b', at(1))).acquired).toBe(false);
        await catalog.releaseReservation(k, 'owner-a');
        const b = await catalog.getOrExtendReservation(k, 'owner-b', at(2));
        expect(b.acquired).toBe(true);
        expect(b.reservation.ownerId).toBe('owner-b');
      });

      it('reserves each tag separately', async () => {
        const k = key();
        expect((await catalog.getOrExtendReservation(k, 'owner-a', at(0))).acquired).toBe(true);
        expect(
          (await catalog.getOrExtendReservation({ ...k, tag: 'flyte_cached-other' }, 'owner-b', at(0))).acquired,
        ).toBe(true);
      });

      it('gives a contended key to exactly one of several concurrent callers', async () => {
        const k = key();
        const results = await Promise.all(
          ['w1', 'w2', 'w3', 'w4'].map((owner) => catalog.getOrExtendReservation(k, owner, at(0))),
        );
        const winners = results.filter((r) => r.acquired);
        expect(winners).toHaveLength(1);
        for (const result of results) expect(result.reservation.ownerId).toBe(winners[0]!.reservation.ownerId);
      });
    });

    it('rejects with the reason of an already-aborted signal, and writes nothing', async () => {
      const k = key();
      const { signal, reason } = abortedSignal();
      await expectAbortReason(catalog.put(k, outputs(1), { signal }), reason);
      expect(await catalog.get(k)).toBeUndefined();
      await expectAbortReason(catalog.get(k, { signal }), reason);
      await expectAbortReason(
        catalog.getOrExtendReservation(k, 'a', { heartbeatMs: 1, now: new Date(BASE_MS) }, { signal }),
        reason,
      );
    });
  });
}
