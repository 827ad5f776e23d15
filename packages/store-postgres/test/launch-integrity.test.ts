// Executions and registrations through engines on PostgreSQL: on embedded PGlite (engines sharing its one
// backend) and, when DATABASE_URL is set, on a server (each engine with a pool of its own, so they truly race).
import { createPostgresStore, type PostgresBackend } from '@flyte-ts/store-postgres';
import { afterAll, describe, it } from 'vitest';
import {
  RACES,
  raceForOneName,
  refuseSquattedDefaultLaunchPlan,
  registerNothingOfABrokenPackage,
  registerNothingOfARefusedPackage,
  registerOneOfTwoRacingPackages,
} from './fixtures/launch-integrity.js';
import { DATABASE_URL, once, pgliteBackend, SERVER_SKIP_REASON, serverBackend } from './support.js';

const TIMEOUT_MS = 120_000;

/** The scenarios, on two backends of one database (which may be one object, for PGlite). */
function scenarios(backends: () => Promise<readonly [PostgresBackend, PostgresBackend]>): void {
  const stores = async () => {
    const [a, b] = await backends();
    return [a.store, b.store] as const;
  };

  it(
    `run each of ${RACES} executions created twice at once with the inputs of the call that created it`,
    async () => raceForOneName(await stores()),
    TIMEOUT_MS,
  );

  it(
    'register nothing of a package whose workflow fails, not even its good task',
    async () => registerNothingOfABrokenPackage((await stores())[0]),
    TIMEOUT_MS,
  );

  it(
    'register nothing of a package whose last task the Store refuses',
    async () => registerNothingOfARefusedPackage((await stores())[0]),
    TIMEOUT_MS,
  );

  it(
    'register one of two packages racing for one task version whole, and nothing of the other',
    async () => registerOneOfTwoRacingPackages(await stores()),
    TIMEOUT_MS,
  );

  it(
    'refuse a default launch plan that runs another workflow, and never launch it',
    async () => refuseSquattedDefaultLaunchPlan((await stores())[0]),
    TIMEOUT_MS,
  );
}

describe('engines on one PGlite database', () => {
  const backend = once(pgliteBackend);
  afterAll(async () => (await backend()).close(), 60_000);
  // PGlite is single-process: the engines share its one backend.
  scenarios(async () => [await backend(), await backend()]);
});

describe.skipIf(DATABASE_URL === undefined)(
  `engines on one PostgreSQL server database (${DATABASE_URL === undefined ? SERVER_SKIP_REASON : 'DATABASE_URL'})`,
  () => {
    const backend = once(() => serverBackend('launch'));
    /** A second backend on the same database: another engine process, as far as the database can tell. */
    const second = once(async () => createPostgresStore({ connectionString: (await backend()).database.url }));
    afterAll(async () => {
      await (await second()).close();
      await (await backend()).close();
    }, 60_000);
    scenarios(async () => [await backend(), await second()]);
  },
);
