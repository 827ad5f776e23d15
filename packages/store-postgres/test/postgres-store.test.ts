// PostgresStore beyond the contract: filter text can never become SQL, the schema migrates idempotently and
// forward only, bytes and int64 values survive both drivers exactly, lost connections surface as UNAVAILABLE,
// and concurrent processes never share an execution or both win a commit.
import { create } from '@bufbuild/protobuf';
import { PGlite } from '@electric-sql/pglite';
import {
  executionId,
  idl,
  nodeExecutionId,
  parseFilters,
  type ExecutionRecord,
  type Filter,
  type ListQuery,
  type Store,
} from '@flyte-ts/core';
import {
  createPgliteStore,
  createPostgresStore,
  MIGRATION_TABLE,
  type PostgresBackend,
} from '@flyte-ts/store-postgres';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  DATABASE_URL,
  once,
  pgliteBackend,
  SERVER_SKIP_REASON,
  serverBackend,
  createServerDatabase,
} from './support.js';

const Phase = idl.core.WorkflowExecution_Phase;
const DOMAIN = 'development';
const BASE_SECONDS = 1_893_456_000n; // 2030-01-01T00:00:00Z
let counter = 0;
const RUN = Math.random().toString(36).slice(2, 8);

function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${RUN}-${counter}`;
}

function execution(
  project: string,
  name: string,
  init: { phase?: idl.core.WorkflowExecution_Phase; seconds?: bigint; nanos?: number } = {},
): idl.admin.Execution {
  return create(idl.admin.ExecutionSchema, {
    id: executionId({ project, domain: DOMAIN, name }),
    closure: {
      phase: init.phase ?? Phase.RUNNING,
      createdAt: { seconds: init.seconds ?? BASE_SECONDS, nanos: init.nanos ?? 0 },
    },
  });
}

function nodeExecution(exec: idl.core.WorkflowExecutionIdentifier, nodeId: string): idl.admin.NodeExecution {
  return create(idl.admin.NodeExecutionSchema, { id: nodeExecutionId(exec, nodeId), closure: {} });
}

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? `uncoded: ${String(error)}`;
  }
}

async function names(store: Store, project: string, filters: readonly Filter[] | string): Promise<string[]> {
  const parsed = typeof filters === 'string' ? parseFilters(filters) : filters;
  const query: ListQuery = { filters: [...parseFilters(`eq(project,${project})`), ...parsed] };
  return (await store.listExecutions(query)).items.map((r) => r.execution.id?.name ?? '').sort();
}

async function tableCount(backend: PostgresBackend, table: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`.execute(backend.db);
  return Number(rows[0]!.n);
}

const BACKENDS: readonly { readonly name: string; readonly open: () => Promise<PostgresBackend> }[] = [
  { name: 'on PGlite', open: once(pgliteBackend) },
  ...(DATABASE_URL === undefined ? [] : [{ name: 'on a PostgreSQL server', open: once(() => serverBackend('store')) }]),
];

for (const { name, open } of BACKENDS) {
  describe(`PostgresStore ${name}`, () => {
    beforeAll(() => open(), 60_000);
    afterAll(async () => (await open()).close(), 60_000);

    describe('filter text never becomes SQL', () => {
      const INJECTIONS = [
        "x'; DROP TABLE executions;--",
        "' OR '1'='1",
        'x"); DELETE FROM executions; --',
        '$1',
        '%',
        '_',
        '\\',
      ];

      it('matches injection strings as literal values, and every table survives', async () => {
        const { store } = await open();
        const project = unique('inject');
        for (const [i, value] of INJECTIONS.entries()) {
          await store.createExecution({ execution: execution(project, `e${i}-${value}`) });
        }
        await store.createExecution({ execution: execution(project, 'plain') });
        for (const [i, value] of INJECTIONS.entries()) {
          const full = `e${i}-${value}`;
          expect(await names(store, project, [{ fn: 'eq', field: 'name', values: [full] }])).toEqual([full]);
          expect(await names(store, project, [{ fn: 'contains', field: 'name', values: [value] }])).toEqual([full]);
          expect(await names(store, project, [{ fn: 'value_in', field: 'name', values: [full, value] }])).toEqual([
            full,
          ]);
        }
        expect(await names(store, project, "eq(name,x'; DROP TABLE executions;--)")).toEqual([]);
        expect(await names(store, project, 'ne(name,plain)')).toHaveLength(INJECTIONS.length);
        const backend = await open();
        expect(await tableCount(backend, 'executions')).toBeGreaterThanOrEqual(INJECTIONS.length + 1);
        expect((await store.getExecution(executionId({ project, domain: DOMAIN, name: 'plain' })))?.revision).toBe(1);
      });

      it('refuses injection attempts in field names, sort keys, directions and tokens with INVALID_ARGUMENT', async () => {
        const { store } = await open();
        const attempts: ListQuery[] = [
          { filters: [{ fn: 'eq', field: 'name = name or 1=1 --', values: ['x'] }] },
          { filters: [{ fn: 'eq', field: 'pk', values: ['1'] }] },
          { sortBy: { key: 'name; DROP TABLE executions', direction: 'asc' } },
          { sortBy: { key: 'name', direction: 'asc; DROP TABLE executions' as 'asc' } },
          { filters: [{ fn: 'eq;drop' as 'eq', field: 'name', values: ['x'] }] },
          { filters: parseFilters('gt(duration,1; DROP TABLE executions)') },
          { filters: parseFilters("gt(created_at,2030-01-01T00:00:00Z'; DROP TABLE executions;--)") },
          { filters: parseFilters("eq(phase,RUNNING'; DROP TABLE executions;--)") },
          { token: Buffer.from(JSON.stringify(['0', "x'; DROP TABLE executions;--", 1])).toString('base64url') },
        ];
        for (const query of attempts)
          expect(await code(store.listExecutions(query)), JSON.stringify(query)).toBe('INVALID_ARGUMENT');
        expect(await code(store.listExecutions({}))).toBeUndefined();
      });

      it('answers a value PostgreSQL text cannot hold (a NUL character) with INVALID_ARGUMENT, not a stack trace', async () => {
        const { store } = await open();
        expect(await code(store.listExecutions({ filters: [{ fn: 'eq', field: 'name', values: ['a\u0000b'] }] }))).toBe(
          'INVALID_ARGUMENT',
        );
        expect(await code(store.createExecution({ execution: execution(unique('nul'), 'has\u0000nul') }))).toBe(
          'INVALID_ARGUMENT',
        );
      });
    });

    describe('migrations', () => {
      it('are idempotent: migrating a migrated database applies nothing', async () => {
        const backend = await open();
        const first = await backend.migrate();
        const second = await backend.migrate();
        expect(first.applied).toEqual([]);
        expect(second.applied).toEqual([]);
        expect(second.known).toEqual(['0001_initial', '0002_execution_inputs_uri']);
        const { rows } = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(
          backend.db,
        );
        expect(rows.map((row) => row.name).sort()).toEqual(['0001_initial', '0002_execution_inputs_uri']);
      });

      it('refuse a database migrated by a newer version (forward only), changing nothing', async () => {
        const backend = await open();
        const future = `9999_${RUN}`;
        await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values (${future}, ${new Date().toISOString()})`.execute(
          backend.db,
        );
        try {
          await expect(backend.migrate()).rejects.toThrow(/9999/);
        } finally {
          await sql`delete from ${sql.table(MIGRATION_TABLE)} where name = ${future}`.execute(backend.db);
        }
        expect((await backend.migrate()).applied).toEqual([]);
      });
    });

    describe('bytes and 64-bit values', () => {
      it('reads opaque state back byte for byte as a plain Uint8Array, empty state included', async () => {
        const { store } = await open();
        const project = unique('bytes');
        const all = new Uint8Array(256).map((_, i) => i);
        const created = await store.createExecution({ execution: execution(project, 'all'), state: all });
        await store.createExecution({ execution: execution(project, 'empty'), state: new Uint8Array(0) });
        await store.createExecution({ execution: execution(project, 'none') });
        const read = await store.getExecution(created.execution.id!);
        expect(read?.state?.constructor).toBe(Uint8Array);
        expect(Array.from(read!.state!)).toEqual(Array.from(all));
        const empty = await store.getExecution(executionId({ project, domain: DOMAIN, name: 'empty' }));
        expect(empty?.state?.constructor).toBe(Uint8Array);
        expect(empty?.state?.byteLength).toBe(0);
        expect(
          (await store.getExecution(executionId({ project, domain: DOMAIN, name: 'none' })))?.state,
        ).toBeUndefined();

        const id = created.execution.id!;
        const nodeState = new Uint8Array([0, 0, 255, 0, 92, 39, 34]);
        await store.commit({
          nodeExecutions: [
            {
              record: { nodeExecution: nodeExecution(id, 'n'), parentNodeId: '', state: nodeState },
              expectedRevision: 0,
            },
          ],
        });
        const node = await store.getNodeExecution(nodeExecutionId(id, 'n'));
        expect(node?.state?.constructor).toBe(Uint8Array);
        expect(Array.from(node!.state!)).toEqual(Array.from(nodeState));
      });

      it('filters and sorts times to the nanosecond, before 1970 too', async () => {
        const { store } = await open();
        const project = unique('nanos');
        await store.createExecution({ execution: execution(project, 'a', { nanos: 123_456_789 }) });
        await store.createExecution({ execution: execution(project, 'b', { nanos: 123_456_790 }) });
        await store.createExecution({ execution: execution(project, 'old', { seconds: -86_400n, nanos: 5 }) });
        const at = (fraction: string) => `2030-01-01T00:00:00.${fraction}Z`;
        expect(await names(store, project, `gt(created_at,${at('123456788')})`)).toEqual(['a', 'b']);
        expect(await names(store, project, `gt(created_at,${at('123456789')})`)).toEqual(['b']);
        expect(await names(store, project, `eq(created_at,${at('12345679')})`)).toEqual(['b']);
        expect(await names(store, project, `lte(created_at,${at('123456789')})`)).toEqual(['a', 'old']);
        expect(await names(store, project, 'lt(created_at,1970-01-01T00:00:00Z)')).toEqual(['old']);
        expect(await names(store, project, 'eq(created_at,1969-12-31T00:00:00.000000005Z)')).toEqual(['old']);
        // Bounds far outside what int8 nanoseconds hold still compare, as in memory.
        expect(await names(store, project, 'lt(created_at,9999-12-31T23:59:59Z)')).toEqual(['a', 'b', 'old']);
        expect(await names(store, project, 'gt(created_at,0001-01-01T00:00:00Z)')).toEqual(['a', 'b', 'old']);
        const { items } = await store.listExecutions({
          filters: parseFilters(`eq(project,${project})`),
          sortBy: { key: 'created_at', direction: 'asc' },
          limit: 1,
        });
        expect(items.map((r) => r.execution.id?.name)).toEqual(['old']);
        const roundTrip = await store.getExecution(executionId({ project, domain: DOMAIN, name: 'old' }));
        expect(roundTrip?.execution.closure?.createdAt?.seconds).toBe(-86_400n);
        expect(roundTrip?.execution.closure?.createdAt?.nanos).toBe(5);
      });

      it('keeps lease epochs beyond 32 bits exact', async () => {
        const backend = await open();
        const { store } = backend;
        const project = unique('epoch');
        await store.createExecution({ execution: execution(project, 'e') });
        await sql`update executions set lease_epoch = ${String(2 ** 40)} where project = ${project}`.execute(
          backend.db,
        );
        // Claim far in the future, past every other test's leases.
        const now = new Date(Date.UTC(2200, 0, 1));
        const leases = await store.acquireLeases(unique('owner'), { limit: 1000, ttlMs: 1000, now });
        const mine = leases.find((lease) => lease.execution.project === project);
        expect(mine?.epoch).toBe(2 ** 40 + 1);
        expect(await store.renewLeases([mine!], { ttlMs: 1000, now })).toHaveLength(1);
      });

      it('pages with the default limit of 100 and caps a page at 1000 rows', async () => {
        const { store } = await open();
        const created = await store.createExecution({ execution: execution(unique('pages'), 'e') });
        const id = created.execution.id!;
        await store.commit({
          nodeExecutions: Array.from({ length: 1001 }, (_, i) => ({
            record: { nodeExecution: nodeExecution(id, `n${i}`), parentNodeId: '' },
            expectedRevision: 0,
          })),
        });
        const first = await store.listNodeExecutions(id);
        expect(first.items).toHaveLength(100);
        expect(first.items[0]?.nodeExecution.id?.nodeId).toBe('n0');
        const capped = await store.listNodeExecutions(id, { limit: 5000 });
        expect(capped.items).toHaveLength(1000);
        const rest = await store.listNodeExecutions(id, { limit: 5000, token: capped.nextToken! });
        expect(rest.items.map((r) => r.nodeExecution.id?.nodeId)).toEqual(['n1000']);
        expect(rest.nextToken).toBeUndefined();
      });

      it('keeps paging where it was when newer rows arrive between pages', async () => {
        const { store } = await open();
        const project = unique('keyset');
        const at = (s: number) => execution(project, `e${s}`, { seconds: BASE_SECONDS + BigInt(s) });
        for (let i = 0; i < 5; i++) await store.createExecution({ execution: at(i) });
        const query = { filters: parseFilters(`eq(project,${project})`), limit: 2 };
        const first = await store.listExecutions(query);
        expect(first.items.map((r) => r.execution.id?.name)).toEqual(['e4', 'e3']);
        await store.createExecution({ execution: at(10) });
        const rest: ExecutionRecord[] = [];
        for (let token = first.nextToken; token !== undefined;) {
          const page = await store.listExecutions({ ...query, token });
          rest.push(...page.items);
          token = page.nextToken;
        }
        expect(rest.map((r) => r.execution.id?.name)).toEqual(['e2', 'e1', 'e0']);
      });
    });
  });
}

describe('PostgresStore on a closed PGlite backend', () => {
  it('answers UNAVAILABLE once closed, and leaves a PGlite instance it was given open', async () => {
    const pglite = await PGlite.create();
    try {
      const backend = await createPgliteStore({ pglite });
      const id = executionId({ project: 'p', domain: DOMAIN, name: 'e' });
      await backend.store.createExecution({ execution: execution('p', 'e') });
      await backend.close();
      await backend.close();
      expect(await code(backend.store.getExecution(id))).toBe('UNAVAILABLE');
      expect(
        await code(
          backend.catalog.releaseReservation(
            { dataset: create(idl.datacatalog.DatasetIDSchema, { name: 'd' }), tag: 't' },
            'o',
          ),
        ),
      ).toBe('UNAVAILABLE');
      expect(await code(backend.resourceManager.release('pool', 't'))).toBe('UNAVAILABLE');
      const { rows } = await pglite.query<{ name: string }>('select name from executions');
      expect(rows.map((row) => row.name)).toEqual(['e']);
    } finally {
      await pglite.close();
    }
  }, 60_000);
});

describe.skipIf(DATABASE_URL === undefined)(
  `PostgresStore with several processes on one server (${DATABASE_URL === undefined ? SERVER_SKIP_REASON : 'DATABASE_URL'})`,
  () => {
    const shared = once(async () => {
      const database = await createServerDatabase('shared');
      const a = await createPostgresStore({ connectionString: database.url, migrate: true, maxConnections: 4 });
      const b = await createPostgresStore({ connectionString: database.url, maxConnections: 4 });
      return { database, a, b };
    });
    afterAll(async () => {
      const { database, a, b } = await shared();
      await a.close();
      await b.close();
      await database.drop();
    }, 60_000);

    it('migrates once when two processes migrate a new database at the same time', async () => {
      const database = await createServerDatabase('migrate');
      const one = await createPostgresStore({ connectionString: database.url });
      const two = await createPostgresStore({ connectionString: database.url });
      try {
        const reports = await Promise.all([one.migrate(), two.migrate()]);
        expect(reports.flatMap((report) => report.applied)).toEqual(['0001_initial', '0002_execution_inputs_uri']);
        expect(await tableCount(one, 'executions')).toBe(0);
      } finally {
        await one.close();
        await two.close();
        await database.drop();
      }
    }, 60_000);

    it('never gives one execution to two processes claiming at the same time', async () => {
      const { a, b } = await shared();
      const project = unique('claims');
      for (let i = 0; i < 60; i++) await a.store.createExecution({ execution: execution(project, `e${i}`) });
      const now = new Date(Date.UTC(2030, 0, 1));
      const claim = async (store: Store, owner: string) => {
        const claimed: string[] = [];
        for (;;) {
          const leases = await store.acquireLeases(owner, { limit: 4, ttlMs: 60_000, now });
          if (leases.length === 0) return claimed;
          claimed.push(...leases.map((lease) => lease.execution.name));
        }
      };
      const claims = await Promise.all([
        claim(a.store, 'a1'),
        claim(a.store, 'a2'),
        claim(b.store, 'b1'),
        claim(b.store, 'b2'),
      ]);
      const all = claims.flat();
      expect(new Set(all).size, 'no execution claimed twice').toBe(all.length);
      expect(all.sort()).toEqual(Array.from({ length: 60 }, (_, i) => `e${i}`).sort());
    }, 60_000);

    it('lets exactly one of two processes commit over the same revision', async () => {
      const { a, b } = await shared();
      const created = await a.store.createExecution({ execution: execution(unique('race'), 'e') });
      const write = (store: Store, phase: idl.core.WorkflowExecution_Phase) =>
        store.commit({
          execution: {
            record: { execution: { ...created.execution, closure: { ...created.execution.closure!, phase } } },
            expectedRevision: 1,
          },
        });
      const results = await Promise.allSettled([write(a.store, Phase.SUCCEEDED), write(b.store, Phase.FAILED)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected');
      expect((rejected?.reason as { code?: string }).code).toBe('CONFLICT');
      expect((await a.store.getExecution(created.execution.id!))?.revision).toBe(2);
    }, 60_000);

    it('answers UNAVAILABLE when the server ends the connection mid-commit, and recovers with a new one', async () => {
      const { database } = await shared();
      const application = `flyte_ts_${RUN}_terminated`;
      const url = new URL(database.url);
      url.searchParams.set('application_name', application);
      const backend = await createPostgresStore({ connectionString: url.toString(), maxConnections: 1 });
      const locker = new pg.Client({ connectionString: database.url });
      await locker.connect();
      try {
        const created = await backend.store.createExecution({ execution: execution(unique('terminate'), 'e') });
        const { project, domain, name } = created.execution.id!;
        // Hold the execution's row lock, so the commit waits on it, then end the waiting connection.
        await locker.query('begin');
        await locker.query('select 1 from executions where project = $1 and domain = $2 and name = $3 for update', [
          project,
          domain,
          name,
        ]);
        const commit = backend.store.commit({
          nodeExecutions: [
            {
              record: { nodeExecution: nodeExecution(created.execution.id!, 'n0'), parentNodeId: '' },
              expectedRevision: 0,
            },
          ],
        });
        const outcome = code(commit);
        for (;;) {
          const { rows } = await admin(
            `select pid from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`,
            [application],
          );
          if (rows.length > 0) {
            await admin('select pg_terminate_backend($1)', [rows[0].pid]);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(await outcome).toBe('UNAVAILABLE');
        await locker.query('rollback');
        // The pool replaced the connection: the retry goes through.
        const retried = await backend.store.commit({
          nodeExecutions: [
            {
              record: { nodeExecution: nodeExecution(created.execution.id!, 'n0'), parentNodeId: '' },
              expectedRevision: 0,
            },
          ],
        });
        expect(retried.nodeExecutions[0]?.revision).toBe(1);
      } finally {
        await locker.end();
        await backend.close();
      }
    }, 60_000);

    it('answers UNAVAILABLE when the server cannot be reached', async () => {
      const backend = await createPostgresStore({ connectionString: 'postgres://flyte:flyte@127.0.0.1:1/flyte' });
      try {
        expect(await code(backend.store.getExecution(executionId({ project: 'p', domain: DOMAIN, name: 'e' })))).toBe(
          'UNAVAILABLE',
        );
        expect(await code(backend.migrate())).toBe('UNAVAILABLE');
      } finally {
        await backend.close();
      }
      expect(
        await code(
          createPostgresStore({ connectionString: 'postgres://flyte:flyte@127.0.0.1:1/flyte', migrate: true }),
        ),
      ).toBe('UNAVAILABLE');
    });

    it('reads int8 exactly through a pool of yours whose parsers return numbers or bigints', async () => {
      const { database } = await shared();
      for (const parse of [(value: string) => Number(value), (value: string) => BigInt(value)]) {
        const pool = new pg.Pool({
          connectionString: database.url,
          max: 2,
          types: {
            getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
              oid === 20 ? parse : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
          },
        });
        pool.on('error', () => {});
        pool.on('connect', (client) => client.on('error', () => {}));
        const backend = await createPostgresStore({ pool });
        try {
          const project = unique('parsers');
          for (let i = 0; i < 3; i++) {
            await backend.store.createExecution({
              execution: execution(project, `e${i}`, { seconds: BASE_SECONDS + BigInt(i), nanos: 7 }),
            });
          }
          const query = { filters: parseFilters(`eq(project,${project})`), limit: 2 };
          const first = await backend.store.listExecutions(query);
          const second = await backend.store.listExecutions({ ...query, token: first.nextToken! });
          expect([...first.items, ...second.items].map((r) => r.execution.id?.name)).toEqual(['e2', 'e1', 'e0']);
          const [lease] = await backend.store.acquireLeases(unique('owner'), {
            limit: 1,
            ttlMs: 1000,
            now: new Date(Date.UTC(2300, 0, 1)),
          });
          expect(typeof lease?.epoch).toBe('number');
          expect(await backend.resourceManager.setQuota(unique('pool'), 1)).toBeUndefined();
        } finally {
          await backend.close();
        }
        // close() left the pool open: it is still usable, and ours to end.
        expect((await pool.query('select 1 as one')).rows[0].one).toBe(1);
        await pool.end();
      }
    }, 60_000);
  },
);
