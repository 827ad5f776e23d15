// What the chaos test checks once its engine processes are gone: every execution SUCCEEDED with its outputs, no
// task ran after its node's success was committed, each event is kept once, no table holds two rows under one
// logical key (read from the heap, not through the indexes), and, where amcheck is installed, every B-tree index
// agrees with its table. Each check returns what it found wrong, as sentences, rather than stopping at the first.
import { create } from '@bufbuild/protobuf';
import { fromLiteralMap, idl, type ExecutionEvent, type Page, type Store } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import type { PostgresBackend } from '@flyte-ts/store-postgres';
import { sql, type Kysely } from 'kysely';
import { chaos, expectedOutputs } from './fixtures/chaos-workflow.js';

const WP = idl.core.WorkflowExecution_Phase;
const TP = idl.core.TaskExecution_Phase;

/** What went wrong (sentences; empty when nothing did), and figures for the report. */
export interface CheckResult {
  readonly failures: string[];
  readonly figures: Record<string, number | string>;
}

/** Reads every page of a list. */
async function all<T>(list: (token: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await list(token);
    items.push(...page.items);
    token = page.nextToken;
  } while (token !== undefined);
  return items;
}

/** Every execution SUCCEEDED, with the outputs its inputs call for. */
export async function checkExecutions(
  engine: Engine,
  ids: readonly idl.core.WorkflowExecutionIdentifier[],
): Promise<CheckResult> {
  const failures: string[] = [];
  let succeeded = 0;
  for (const [i, id] of ids.entries()) {
    const execution = await engine.getExecution(id);
    const phase = WP[execution?.closure?.phase ?? WP.UNDEFINED];
    if (phase !== 'SUCCEEDED') {
      const result = execution?.closure?.outputResult;
      const error = result?.case === 'error' ? `: ${result.value.code}: ${result.value.message}` : '';
      failures.push(`execution ${id.name} is ${phase ?? '?'}, not SUCCEEDED${error}`);
      continue;
    }
    const outputs = JSON.stringify(fromLiteralMap(chaos.outputs, await engine.getExecutionOutputs(id)));
    const expected = JSON.stringify(expectedOutputs(i));
    if (outputs !== expected) {
      failures.push(`execution ${id.name} output ${outputs}, not ${expected}`);
      continue;
    }
    succeeded++;
  }
  return { failures, figures: { succeeded } };
}

/** One line of the tasks' log (see fixtures/chaos-workflow.ts). */
export interface TaskLogLine {
  readonly what: string;
  readonly execution: string;
  readonly node: string;
  readonly attempt: number;
  readonly pid: number;
  readonly detail: string;
}

/** Parses the tasks' log. */
export function parseTaskLog(lines: readonly string[][]): TaskLogLine[] {
  return lines.map((parts) => ({
    what: parts[0]!,
    execution: parts[1]!,
    node: parts[2]!,
    attempt: Number(parts[3]),
    detail: parts.slice(4, -1).join(' '),
    pid: Number(parts.at(-1)),
  }));
}

/**
 * No task ran after its node's success was committed: none logged `rerun-after-success` at its start (the sound
 * check, made as the task started). In the Store each task node has one successful attempt, its last. Figures: task
 * runs, and re-runs (runs of a node beyond its first, because its earlier run was cut before its success was
 * committed).
 */
export async function checkTaskRuns(
  db: Kysely<unknown>,
  log: readonly TaskLogLine[],
  killed: ReadonlySet<number>,
): Promise<CheckResult> {
  const failures: string[] = [];
  let rerunsAfterSuccess = 0;
  for (const line of log) {
    if (line.what === 'rerun-after-success') {
      rerunsAfterSuccess++;
      failures.push(
        `task of ${line.execution}/${line.node} attempt ${line.attempt} started (pid ${line.pid}) after its node had committed SUCCEEDED`,
      );
    } else if (line.what === 'check-failed') {
      failures.push(`the start check of ${line.execution}/${line.node} attempt ${line.attempt} failed: ${line.detail}`);
    }
  }
  const runs = new Map<string, TaskLogLine[]>();
  for (const line of log) {
    if (line.what !== 'start') continue;
    const key = `${line.execution}/${line.node}`;
    runs.set(key, [...(runs.get(key) ?? []), line]);
  }
  // A task runs again when a kill cut its earlier run, or when its engine lost the execution's lease to another
  // (a stalled process): both are at-least-once by design, counted apart.
  let reruns = 0;
  let rerunsInLiveProcesses = 0;
  for (const starts of runs.values()) {
    reruns += starts.length - 1;
    rerunsInLiveProcesses += starts.slice(0, -1).filter((start) => !killed.has(start.pid)).length;
  }
  // The attempts the Store kept for each task node: one success, the last attempt.
  const { rows } = await sql<{ node: string; attempts: string; successes: string | number; good: boolean }>`
    select e.name || '/' || t.node_id as node,
      string_agg(t.retry_attempt || ':' || t.phase, ', ' order by t.retry_attempt) as attempts,
      count(*) filter (where t.phase = ${TP.SUCCEEDED}) as successes,
      coalesce(max(t.retry_attempt) filter (where t.phase = ${TP.SUCCEEDED}) = max(t.retry_attempt), false) as good
    from task_executions t join executions e on e.pk = t.execution_pk
    group by e.name, t.node_id`.execute(db);
  for (const row of rows) {
    if (Number(row.successes) !== 1 || !row.good) {
      failures.push(`task node ${row.node} has attempts (attempt:phase) ${row.attempts}: not one success, its last`);
    }
  }
  return {
    failures,
    figures: {
      taskRuns: [...runs.values()].reduce((n, s) => n + s.length, 0),
      reruns,
      rerunsInLiveProcesses,
      rerunsAfterSuccess,
      taskNodes: rows.length,
    },
  };
}

/** The identity of an event, without its time: the same transition reported twice has the same one. */
function eventKey(event: ExecutionEvent): string {
  switch (event.kind) {
    case 'workflow':
      return `workflow ${WP[event.event.phase]}`;
    case 'node':
      return `node ${event.event.id?.nodeId} ${idl.core.NodeExecution_Phase[event.event.phase]}`;
    case 'task':
      return `task ${event.event.parentNodeExecutionId?.nodeId} attempt ${event.event.retryAttempt} ${TP[event.event.phase]} v${event.event.phaseVersion}`;
  }
}

/**
 * Each execution's terminal phase was committed once, and its events (as `listEvents` gives them) hold each
 * transition once. `endedReports` counts the `execution-ended` reports of the engines per execution name: more than
 * one would mean two engines each believed they ended it.
 */
export async function checkEvents(
  store: Store,
  ids: readonly idl.core.WorkflowExecutionIdentifier[],
  endedReports: ReadonlyMap<string, number>,
): Promise<CheckResult> {
  const failures: string[] = [];
  let events = 0;
  let duplicates = 0;
  for (const id of ids) {
    const items = await all((token) => store.listEvents(id, { limit: 500, token }));
    events += items.length;
    const seen = new Map<string, number>();
    for (const event of items) seen.set(eventKey(event), (seen.get(eventKey(event)) ?? 0) + 1);
    for (const [key, count] of seen) {
      if (count > 1) {
        duplicates += count - 1;
        failures.push(`execution ${id.name} holds the event "${key}" ${count} times`);
      }
    }
    const terminal = items.filter(
      (e) => e.kind === 'workflow' && [WP.SUCCEEDED, WP.FAILED, WP.ABORTED, WP.TIMED_OUT].includes(e.event.phase),
    );
    if (terminal.length !== 1) {
      failures.push(`execution ${id.name} has ${terminal.length} terminal workflow events, not 1`);
    }
    const reports = endedReports.get(id.name) ?? 0;
    if (reports > 1) failures.push(`execution ${id.name} was reported ended by engines ${reports} times`);
  }
  return { failures, figures: { events, duplicateEvents: duplicates } };
}

/**
 * What must be unique in each table of the store, by meaning. Each must be enforced by a unique constraint (or a
 * unique index on some of its columns); tables not listed are checked on their unique constraints alone.
 */
export const LOGICAL_KEYS: Readonly<Record<string, readonly string[]>> = {
  projects: ['id'],
  project_domain_settings: ['project', 'domain'],
  tasks: ['org', 'project', 'domain', 'name', 'version'],
  workflows: ['org', 'project', 'domain', 'name', 'version'],
  launch_plans: ['org', 'project', 'domain', 'name', 'version'],
  executions: ['org', 'project', 'domain', 'name'],
  node_executions: ['execution_pk', 'node_id'],
  task_executions: ['execution_pk', 'node_id', 'retry_attempt', 'task_key'],
  execution_events: ['execution_pk', 'identity'],
  schedule_state: ['key'],
  catalog_datasets: ['org', 'project', 'domain', 'name', 'version'],
  catalog_artifacts: ['artifact_id'],
  catalog_tags: ['dataset_pk', 'name'],
  catalog_reservations: ['org', 'project', 'domain', 'name', 'version', 'tag'],
  resource_pools: ['name'],
  resource_tokens: ['pool', 'token'],
};

interface UniqueIndex {
  readonly table_name: string;
  readonly index_name: string;
  readonly columns: string[];
  readonly has_expressions: boolean;
  readonly predicate: string | null;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * No two rows share a logical key or the key of a unique index, counted from the tables themselves: index scans are
 * off, so a broken index cannot hide (or invent) a duplicate. Also checks each logical key is enforced.
 */
export async function checkDuplicateRows(db: Kysely<unknown>): Promise<CheckResult> {
  const failures: string[] = [];
  let keys = 0;
  let duplicateRows = 0;
  await db.transaction().execute(async (trx) => {
    for (const setting of ['enable_indexscan', 'enable_indexonlyscan', 'enable_bitmapscan']) {
      await sql.raw(`set local ${setting} = off`).execute(trx);
    }
    const tables = (
      await sql<{ name: string }>`
        select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = current_schema() and c.relkind in ('r', 'p') order by 1`.execute(trx)
    ).rows.map((row) => row.name);
    const indexes = (
      await sql<UniqueIndex>`
        select t.relname as table_name, i.relname as index_name,
          array(select a.attname::text from unnest(ix.indkey::int2[]) with ordinality as k(attnum, ord)
                join pg_attribute a on a.attrelid = ix.indrelid and a.attnum = k.attnum order by k.ord) as columns,
          ix.indexprs is not null as has_expressions,
          pg_get_expr(ix.indpred, ix.indrelid) as predicate
        from pg_index ix
        join pg_class i on i.oid = ix.indexrelid
        join pg_class t on t.oid = ix.indrelid
        join pg_namespace n on n.oid = t.relnamespace
        where n.nspname = current_schema() and ix.indisunique
        order by 1, 2`.execute(trx)
    ).rows;
    const keysToCheck: { table: string; columns: readonly string[]; predicate: string | null; what: string }[] = [];
    for (const table of tables) {
      const own = indexes.filter((index) => index.table_name === table);
      const logical = LOGICAL_KEYS[table];
      if (logical !== undefined) {
        keysToCheck.push({ table, columns: logical, predicate: null, what: 'logical key' });
        const enforced = own.some(
          (index) =>
            !index.has_expressions && index.predicate === null && index.columns.every((c) => logical.includes(c)),
        );
        if (!enforced) {
          failures.push(`table ${table}: no unique constraint enforces its logical key (${logical.join(', ')})`);
        }
      } else if (own.length === 0) {
        failures.push(`table ${table} has neither a logical key in chaos-checks.ts nor a unique constraint`);
      }
      for (const index of own) {
        if (index.has_expressions) {
          failures.push(`unique index ${index.index_name} has expressions, which this check cannot group by`);
          continue;
        }
        keysToCheck.push({ table, columns: index.columns, predicate: index.predicate, what: index.index_name });
      }
    }
    for (const key of keysToCheck) {
      keys++;
      const columns = key.columns.map(quote).join(', ');
      // A unique index lets NULLs repeat: rows with a NULL in the key are not duplicates.
      const where = [
        ...key.columns.map((c) => `${quote(c)} is not null`),
        ...(key.predicate === null ? [] : [`(${key.predicate})`]),
      ];
      const { rows } = await sql<{ n: string | number; sample: string }>`${sql.raw(
        `select count(*) as n, min(row(${columns})::text) as sample from (select ${columns} from ${quote(key.table)} where ${where.join(' and ')} group by ${columns} having count(*) > 1) d`,
      )}`.execute(trx);
      const groups = Number(rows[0]?.n ?? 0);
      if (groups > 0) {
        duplicateRows += groups;
        failures.push(
          `table ${key.table} holds ${groups} duplicated ${key.what} (${key.columns.join(', ')}), e.g. ${rows[0]!.sample}`,
        );
      }
    }
  });
  return { failures, figures: { uniqueKeys: keys, duplicateRows } };
}

/** What amcheck found, or why it did not run. */
export interface AmcheckResult extends CheckResult {
  /** Why amcheck did not run (it is not installed), when it did not. */
  readonly skipped?: string;
}

/**
 * Checks every B-tree index of the schema with amcheck's `bt_index_check(index, heapallindexed => true)`: the
 * index's structure, and that every heap tuple is in it. `missing` says what to do when amcheck is not installed
 * in the database; it is then a failure when `required`, else a skip with that reason.
 */
export async function checkIndexes(
  db: Kysely<unknown>,
  options: { readonly required: boolean; readonly missing: string },
): Promise<AmcheckResult> {
  const installed = await sql<{ n: string | number }>`
    select count(*) as n from pg_extension where extname = 'amcheck'`.execute(db);
  if (Number(installed.rows[0]?.n ?? 0) === 0) {
    return options.required
      ? { failures: [`amcheck is not installed: ${options.missing}`], figures: { amcheck: 'missing' } }
      : { failures: [], figures: { amcheck: 'skipped' }, skipped: options.missing };
  }
  const failures: string[] = [];
  const indexes = (
    await sql<{ name: string }>`
      select i.relname as name from pg_index ix
      join pg_class i on i.oid = ix.indexrelid
      join pg_am am on am.oid = i.relam
      join pg_namespace n on n.oid = i.relnamespace
      where n.nspname = current_schema() and am.amname = 'btree'
      order by 1`.execute(db)
  ).rows.map((row) => row.name);
  for (const name of indexes) {
    try {
      await sql`select bt_index_check(${sql.raw(`'${quote(name).replaceAll("'", "''")}'::regclass`)}, true)`.execute(
        db,
      );
    } catch (error) {
      failures.push(`amcheck: index ${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { failures, figures: { amcheck: `${indexes.length - failures.length}/${indexes.length} indexes passed` } };
}

/** The ids of the chaos test's executions. */
export function chaosExecutionIds(
  count: number,
  project: string,
  domain: string,
): idl.core.WorkflowExecutionIdentifier[] {
  return Array.from({ length: count }, (_, i) =>
    create(idl.core.WorkflowExecutionIdentifierSchema, { project, domain, name: chaosExecutionName(i) }),
  );
}

/** Name of the chaos test's execution `i`. */
export function chaosExecutionName(i: number): string {
  return `chaos-${String(i).padStart(3, '0')}`;
}

/** The backend's database, for the checks that read tables. */
export function tablesOf(backend: PostgresBackend): Kysely<unknown> {
  return backend.db as unknown as Kysely<unknown>;
}
