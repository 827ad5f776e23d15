// `npm run bench` (store-postgres): the engine on PostgresStore + PostgresCatalog with no-op tasks and an
// in-memory BlobStore, so the figures measure the database. For the PostgreSQL server named by DATABASE_URL (in a
// fresh database, dropped afterwards; skipped without DATABASE_URL) and for a fresh in-memory PGlite, it prints
// these figures and asserts nothing:
//   1. throughput: no-op task executions per minute over concurrent executions, fanned out (nodes commit in
//      batches) and chained (one node ready at a time per execution: a commit or two per task);
//   2. a 20,000-node fan-out/fan-in (FAN_WIDTH overrides): phase, register and run time, peak memory, commits;
//   3. per node transition, on a chain and on a fan-out: commits per node, rows per commit (the engine's
//      `flyte.execution.rows_per_commit`), rows written, round trips per commit and per node, and the statements
//      of a commit.
//
// Round trips are counted where they leave the process: every `pg.Client#query` (BEGIN and COMMIT included) and
// every `query`/`exec` call into PGlite; rows written are the counts the database reports for INSERT and UPDATE.
// Statement times run from the call to its result, so they include the event loop's delays while the engine is
// busy. The per-transition figures attribute each round trip to the Store method that issued it (through an
// AsyncLocalStorage, enabled in those runs only: it slows every promise down).
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { PGlite } from '@electric-sql/pglite';
import { idl, t, task, workflow, type SerializationSettings, type Store } from '@flyte-ts/core';
import { createEngine, type Engine } from '@flyte-ts/executor';
import { MemoryBlobStore } from '@flyte-ts/store-memory';
import { createNoopMeter, type Histogram, type Meter } from '@opentelemetry/api';
import { sql } from 'kysely';
import pg from 'pg';
import { createPgliteStore, createPostgresStore, type PostgresBackend } from '../src/index.js';

const PROJECT = 'flytesnacks';
const DOMAIN = 'development';
const settings: SerializationSettings = { project: PROJECT, domain: DOMAIN, version: 'bench' };
const noop = task({ name: 'bench.noop', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x }));
const gather = task({ name: 'bench.gather', inputs: { xs: t.list(t.int()) }, outputs: { n: t.int() } }, ({ xs }) => ({
  n: xs.length,
}));

/** Throughput: this many executions at once, each a fan-out of THROUGHPUT_WIDTH no-op tasks and a gather. */
const THROUGHPUT_EXECUTIONS = 10;
const THROUGHPUT_WIDTH = 1000;
/** Throughput of sequential tasks: this many executions at once, each a chain of CHAIN_TASKS no-op tasks. */
const CHAIN_EXECUTIONS = 50;
const CHAIN_TASKS = 20;
/** Per transition: a chain (one node ready at a time, the worst case) and a fan-out (many nodes per commit). */
const CHAIN_LENGTH = 100;
const SMALL_FAN_WIDTH = 1000;
const FAN_WIDTH = Number(process.env.FAN_WIDTH ?? 20_000);
const DATABASE_URL = process.env.DATABASE_URL === '' ? undefined : process.env.DATABASE_URL;

function fan(name: string, width: number) {
  return workflow({ name, inputs: { x: t.int() }, outputs: { n: t.int() } }, ({ x }) => {
    const parts = Array.from({ length: width }, () => noop({ x }).y);
    return { n: gather({ xs: parts }).n };
  });
}

function chain(name: string, length: number) {
  return workflow({ name, inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => {
    let y = noop({ x }).y;
    for (let i = 1; i < length; i++) y = noop({ x: y }).y;
    return { y };
  });
}

function id(name: string): idl.core.WorkflowExecutionIdentifier {
  return {
    $typeName: 'flyteidl.core.WorkflowExecutionIdentifier',
    project: PROJECT,
    domain: DOMAIN,
    name,
    org: '',
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const dec = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

// ---------------------------------------------------------------------------------------------------------------
// Round trips

type Statements = Map<string, { count: number; rows: number; ms: number }>;

function add(statements: Statements, kind: string, rows: number, ms: number): void {
  const entry = statements.get(kind) ?? { count: 0, rows: 0, ms: 0 };
  entry.count++;
  entry.rows += rows;
  entry.ms += ms;
  statements.set(kind, entry);
}

/** What went over the wire (or into PGlite): statements, rows they wrote, time, by Store method and statement. */
class Wire {
  queries = 0;
  /** Statement kind → count, rows written and milliseconds (from the call to its result). */
  readonly byKind: Statements = new Map();
  /** Store method → statement kind → count, rows and milliseconds (attributed runs only). */
  readonly byMethod = new Map<string, Statements>();
  /** The Store method running in the current async context, when attributing. */
  readonly method = new AsyncLocalStorage<string>();
  /** Store method → calls (attributed runs only). */
  readonly calls = new Map<string, number>();
  attributing = false;

  reset(): void {
    this.queries = 0;
    this.byKind.clear();
    this.byMethod.clear();
    this.calls.clear();
  }

  /** Counts one statement; `run` performs it, `written` says how many rows it inserted, updated or deleted. */
  async count<R>(text: string, run: () => Promise<R>, written: (result: R) => number): Promise<R> {
    this.queries++;
    const started = performance.now();
    const result = await run();
    const rows = written(result);
    const ms = performance.now() - started;
    const kind = statementKind(text);
    add(this.byKind, kind, rows, ms);
    const method = this.attributing ? this.method.getStore() : undefined;
    if (method !== undefined) {
      let kinds = this.byMethod.get(method);
      if (kinds === undefined) this.byMethod.set(method, (kinds = new Map()));
      add(kinds, kind, rows, ms);
    }
    return result;
  }

  /** A Store whose methods run under their name, so that the statements they issue are attributed to them. */
  attribute(store: Store): Store {
    return new Proxy(store, {
      get: (target, property, receiver) => {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        return (...args: unknown[]) => {
          if (this.attributing) this.calls.set(property, (this.calls.get(property) ?? 0) + 1);
          return this.method.run(property, () => (value as (...a: unknown[]) => unknown).apply(target, args));
        };
      },
    });
  }
}

/** `begin`, `commit`, or the verb and first table of a statement (`insert node_executions`). */
function statementKind(text: string): string {
  const verb = /^\s*(\w+)/.exec(text)?.[1]?.toLowerCase() ?? '?';
  if (verb !== 'select' && verb !== 'insert' && verb !== 'update' && verb !== 'delete' && verb !== 'with') return verb;
  const table = /\b(?:from|into|update)\s+"?(\w+)"?/i.exec(text)?.[1] ?? '?';
  const locking = /\bfor update\b/i.test(text) ? ' for update' : '';
  return `${verb} ${table}${locking}`;
}

const wire = new Wire();
const isWrite = (text: string) => /^\s*(insert|update|delete|with)\b/i.test(text);

/** Counts every statement any `pg` client sends (the store's own pool included). */
function countPgQueries(): void {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = proto.query;
  proto.query = function (this: pg.Client, ...args: unknown[]): unknown {
    const [text] = args;
    // Kysely calls `query(text, values)` and awaits a promise; anything else (callbacks, cursors) is only counted.
    if (typeof text !== 'string' || typeof args[args.length - 1] === 'function') {
      wire.queries++;
      return query.apply(this, args);
    }
    return wire.count(
      text,
      () => query.apply(this, args) as Promise<pg.QueryResult>,
      (result) => (isWrite(text) ? (result.rowCount ?? 0) : 0),
    );
  };
}

/** Counts every `query` and `exec` call into this PGlite instance. */
function countPgliteQueries(pglite: PGlite): void {
  const query = pglite.query.bind(pglite);
  const exec = pglite.exec.bind(pglite);
  pglite.query = ((text: string, params?: unknown[], options?: Parameters<typeof query>[2]) =>
    wire.count(
      text,
      () => query(text, params, options),
      (result) => (isWrite(text) ? (result.affectedRows ?? 0) : 0),
    )) as typeof pglite.query;
  pglite.exec = ((text: string, options?: Parameters<typeof exec>[1]) =>
    wire.count(
      text,
      () => exec(text, options),
      (results) => results.reduce((sum, r) => sum + (r.affectedRows ?? 0), 0),
    )) as typeof pglite.exec;
}

// ---------------------------------------------------------------------------------------------------------------
// The engine, and what it reports of its commits

/** A meter that keeps the values of the histograms named here (everything else is the API's no-op meter). */
function recordingMeter(names: readonly string[]): { meter: Meter; values: Map<string, number[]> } {
  const values = new Map<string, number[]>(names.map((name) => [name, []]));
  const noop = createNoopMeter();
  const meter: Meter = Object.assign(Object.create(noop) as Meter, {
    createHistogram(name: string): Histogram {
      const list = values.get(name);
      if (list === undefined) return noop.createHistogram(name);
      return { record: (value: number) => void list.push(value) };
    },
  });
  return { meter, values };
}

const ROWS_PER_COMMIT = 'flyte.execution.rows_per_commit';
const TRANSITION_LATENCY = 'flyte.execution.transition_latency';

interface Bench {
  readonly engine: Engine;
  /** Node and task rows of each commit the engine made. */
  readonly rowsPerCommit: number[];
  /** Milliseconds of each commit the engine made. */
  readonly commitMs: number[];
}

async function engine(backend: PostgresBackend, store: Store = backend.store): Promise<Bench> {
  const { meter, values } = recordingMeter([ROWS_PER_COMMIT, TRANSITION_LATENCY]);
  const e = createEngine({
    store,
    blob: new MemoryBlobStore(),
    catalog: backend.catalog,
    meter,
    config: { defaultMaxParallelism: 0, id: 'bench' },
  });
  await e.start();
  return { engine: e, rowsPerCommit: values.get(ROWS_PER_COMMIT)!, commitMs: values.get(TRANSITION_LATENCY)! };
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: readonly number[]) => (xs.length === 0 ? NaN : sum(xs) / xs.length);

function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Rows an execution left in each table. */
async function rowsOf(backend: PostgresBackend, name: string): Promise<Record<string, number>> {
  const pk = backend.db
    .selectFrom('executions')
    .select('pk')
    .where('project', '=', PROJECT)
    .where('domain', '=', DOMAIN)
    .where('name', '=', name);
  const counts: Record<string, number> = {};
  for (const table of ['node_executions', 'task_executions', 'execution_events'] as const) {
    const row = await backend.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('execution_pk', '=', pk)
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------------------------
// The figures

async function throughput(
  label: string,
  backend: PostgresBackend,
  shape: string,
  wf: ReturnType<typeof fan> | ReturnType<typeof chain>,
  executions: number,
): Promise<void> {
  const { engine: e, rowsPerCommit } = await engine(backend);
  await e.register([wf], settings);
  let tasks = 0;
  e.on('task', (event) => {
    if (event.phase === idl.core.TaskExecution_Phase.SUCCEEDED) tasks++;
  });
  wire.reset();
  const started = performance.now();
  const prefix = wf.id(settings).name.replace(/[^a-z0-9]/g, '-');
  const names = Array.from({ length: executions }, (_, i) => `${prefix}-${i}`);
  await Promise.all(names.map((name) => e.createExecution({ workflow: wf.id(settings), name, inputs: { x: 1 } })));
  const done = await Promise.all(names.map((name) => e.waitForExecution(id(name))));
  const ms = performance.now() - started;
  const failed = done.filter((x) => x.closure?.phase !== idl.core.WorkflowExecution_Phase.SUCCEEDED).length;
  console.log(
    `${label} throughput, ${shape}: ${int(tasks)} no-op task executions in ${ms.toFixed(0)} ms = ${int((tasks / ms) * 60_000)} per minute` +
      `; ${int(rowsPerCommit.length)} commits, ${int(wire.queries)} round trips (${dec(wire.queries / tasks)} per task)` +
      (failed > 0 ? `; ${failed} executions did not succeed` : ''),
  );
  await e.stop();
}

async function bigFan(label: string, backend: PostgresBackend, width: number): Promise<void> {
  const before = process.memoryUsage();
  let t0 = performance.now();
  const wf = fan(`bench.fan_${width}`, width);
  const defined = performance.now() - t0;
  const { engine: e, rowsPerCommit, commitMs } = await engine(backend);
  t0 = performance.now();
  await e.register([wf], settings);
  const registered = performance.now() - t0;
  let peakHeap = 0;
  let peakRss = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  };
  const sampler = setInterval(sample, 50);
  wire.reset();
  t0 = performance.now();
  await e.createExecution({ workflow: wf.id(settings), name: 'fan', inputs: { x: 1 } });
  const done = await e.waitForExecution(id('fan'));
  const ran = performance.now() - t0;
  clearInterval(sampler);
  sample();
  console.log(
    `${label} fan-out/fan-in of ${int(width)} nodes: ${idl.core.WorkflowExecution_Phase[done.closure!.phase]}; ` +
      `define ${defined.toFixed(0)} ms, register (compile) ${registered.toFixed(0)} ms, run ${ran.toFixed(0)} ms; ` +
      `heap peak ${mb(peakHeap)} (from ${mb(before.heapUsed)}), rss peak ${mb(peakRss)}; ` +
      `${int(rowsPerCommit.length)} commits (${dec(mean(rowsPerCommit), 1)} rows each, at most ${int(Math.max(0, ...rowsPerCommit))}) took ${int(sum(commitMs))} ms, ${int(wire.queries)} round trips`,
  );
  console.log(`  statements (time from call to result): ${describe(wire.byKind, 6)}`);
  await e.stop();
}

/** Commits, rows and round trips of the node transitions of one execution of `wf`. */
async function perTransition(
  label: string,
  backend: PostgresBackend,
  what: string,
  wf: ReturnType<typeof fan> | ReturnType<typeof chain>,
  name: string,
): Promise<void> {
  const bench = await engine(backend, wire.attribute(backend.store));
  const e = bench.engine;
  await e.register([wf], settings);
  wire.reset();
  wire.attributing = true;
  const started = performance.now();
  await e.createExecution({ workflow: wf.id(settings), name, inputs: { x: 1 } });
  await e.waitForExecution(id(name));
  const ms = performance.now() - started;
  wire.attributing = false;
  await e.stop();
  // Node 20's AsyncLocalStorage slows every promise down while enabled: off until the next attributed run.
  wire.method.disable();

  const rows = await rowsOf(backend, name);
  const nodes = rows.node_executions!;
  const commitKinds: Statements = wire.byMethod.get('commit') ?? new Map();
  const commits = wire.calls.get('commit') ?? 0;
  const commitQueries = sum([...commitKinds.values()].map((k) => k.count));
  const commitMs = sum([...commitKinds.values()].map((k) => k.ms));
  const allQueries = sum([...wire.byMethod.values()].flatMap((kinds) => [...kinds.values()].map((k) => k.count)));
  const written = new Map<string, number>();
  for (const [kind, k] of commitKinds) {
    const table = kind.split(' ')[1];
    if (k.rows > 0 && table !== undefined) written.set(table, (written.get(table) ?? 0) + k.rows);
  }
  const writtenRows = sum([...written.values()]);
  const rowsPerCommit = bench.rowsPerCommit;
  console.log(
    `${label} per node transition, ${what}: ${int(nodes)} node rows, ${int(rows.task_executions!)} task rows, ${int(rows.execution_events!)} events stored; ${ms.toFixed(0)} ms with attribution on`,
  );
  console.log(
    `  commits: ${dec(commits / nodes, 3)} per node (${int(commits)}); rows per commit (the engine's rows_per_commit): ` +
      `mean ${dec(mean(rowsPerCommit))} node+task rows, p50 ${percentile(rowsPerCommit, 50)}, max ${int(Math.max(0, ...rowsPerCommit))}, ` +
      `+ ${dec(rows.execution_events! / commits)} events; commit latency p50 ${dec(percentile(bench.commitMs, 50))} ms, p99 ${dec(percentile(bench.commitMs, 99))} ms`,
  );
  console.log(
    `  rows written (inserted or updated) per node: ${[...written.entries()].map(([table, n]) => `${table} ${dec(n / nodes)}`).join(', ')} = ${dec(writtenRows / nodes)}; ` +
      `${dec(writtenRows / commits)} per commit`,
  );
  const others = [...wire.byMethod.entries()]
    .filter(([method]) => method !== 'commit')
    .map(([method, kinds]) => `${method} ${int(sum([...kinds.values()].map((k) => k.count)))}`);
  console.log(
    `  round trips: ${dec(commitQueries / commits)} per commit, ${dec(allQueries / nodes)} per node ` +
      `(${int(allQueries)} in all: ${int(commitQueries)} in commits${others.length > 0 ? `, ${others.join(', ')}` : ''})`,
  );
  const parts = [...commitKinds.entries()]
    .sort(([, a], [, b]) => b.ms - a.ms)
    .map(
      ([kind, k]) =>
        `${kind} ×${dec(k.count / commits)} ${dec((100 * k.ms) / commitMs, 0)}%${k.rows > 0 ? ` (${dec(k.rows / k.count, 1)} rows)` : ''}`,
    );
  console.log(`  a commit's statements, per commit and share of the commits' statement time: ${parts.join(', ')}`);
}

/** The statement kinds that took longest: count, time, rows written. */
function describe(statements: Statements, top: number): string {
  const entries = [...statements.entries()].sort(([, a], [, b]) => b.ms - a.ms);
  const total = sum(entries.map(([, k]) => k.ms));
  return (
    `${int(total)} ms in all; ` +
    entries
      .slice(0, top)
      .map(
        ([kind, k]) =>
          `${kind} ×${int(k.count)} ${int(k.ms)} ms${k.rows > 0 ? ` (${int(k.rows)} rows, ${dec((1000 * k.ms) / k.rows, 0)} µs each)` : ''}`,
      )
      .join(', ')
  );
}

async function run(label: string, backend: PostgresBackend): Promise<void> {
  await throughput(
    label,
    backend,
    `${THROUGHPUT_EXECUTIONS} executions × fan-out of ${int(THROUGHPUT_WIDTH)} at once`,
    fan('bench.throughput', THROUGHPUT_WIDTH),
    THROUGHPUT_EXECUTIONS,
  );
  await throughput(
    label,
    backend,
    `${CHAIN_EXECUTIONS} executions × chain of ${CHAIN_TASKS} at once`,
    chain('bench.chains', CHAIN_TASKS),
    CHAIN_EXECUTIONS,
  );
  await bigFan(label, backend, FAN_WIDTH);
  await perTransition(label, backend, `chain of ${int(CHAIN_LENGTH)}`, chain('bench.chain', CHAIN_LENGTH), 'chain');
  await perTransition(
    label,
    backend,
    `fan-out of ${int(SMALL_FAN_WIDTH)}`,
    fan('bench.small_fan', SMALL_FAN_WIDTH),
    'small-fan',
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The backends

async function server(url: string): Promise<void> {
  countPgQueries();
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  const name = `flyte_bench_${randomBytes(6).toString('hex')}`;
  await admin(`create database ${name}`);
  try {
    const target = new URL(url);
    target.pathname = `/${name}`;
    const backend = await createPostgresStore({ connectionString: target.toString(), migrate: true });
    try {
      const version = await sql<{ server_version: string }>`show server_version`.execute(backend.db);
      console.log(`PostgreSQL server ${version.rows[0]?.server_version ?? ''} (fresh database ${name}, pool of 10)`);
      await run('server', backend);
    } finally {
      await backend.close();
    }
  } finally {
    await admin(`drop database if exists ${name} with (force)`);
  }
}

async function pglite(): Promise<void> {
  const t0 = performance.now();
  const instance = await PGlite.create();
  countPgliteQueries(instance);
  const backend = await createPgliteStore({ pglite: instance });
  const opened = performance.now() - t0;
  console.log(`PGlite (in memory, fresh): created and migrated in ${opened.toFixed(0)} ms`);
  try {
    await run('pglite', backend);
  } finally {
    await backend.close();
    await instance.close();
  }
}

console.log(`${cpus().length} cores, Node ${process.version}`);
if (DATABASE_URL === undefined) {
  console.log('server: skipped (set DATABASE_URL=postgres://user:password@host:5432/database to bench a server)');
} else {
  await server(DATABASE_URL);
}
await pglite();
