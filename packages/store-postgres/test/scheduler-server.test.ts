// Two engines on one PostgreSQL server database, each on its own pool (their statements really run concurrently),
// each running the reference scheduler over a fixed rate of one minute, on a shared manual clock advanced 1,000
// minutes: every scheduled time is fired exactly once. Needs DATABASE_URL; the PGlite run is scheduler.test.ts.
import { createPostgresStore, type PostgresBackend } from '@flyte-ts/store-postgres';
import { afterAll, describe, it } from 'vitest';
import { FIRES, twoEnginesFireOnce } from './fixtures/two-engine-schedules.js';
import { createServerDatabase, DATABASE_URL, once, SERVER_SKIP_REASON, type ServerDatabase } from './support.js';

describe.skipIf(DATABASE_URL === undefined)(
  `two engines on one PostgreSQL server database (${DATABASE_URL === undefined ? SERVER_SKIP_REASON : 'DATABASE_URL'})`,
  () => {
    const database = once<ServerDatabase>(() => createServerDatabase('scheduler'));
    const backends: PostgresBackend[] = [];
    afterAll(async () => {
      for (const backend of backends) await backend.close();
      await (await database()).drop();
    }, 60_000);

    it(`fire each of ${FIRES} scheduled times exactly once, each engine on its own pool`, async () => {
      const { url } = await database();
      for (let i = 0; i < 2; i++) {
        backends.push(await createPostgresStore({ connectionString: url, migrate: true, maxConnections: 4 }));
      }
      await twoEnginesFireOnce([backends[0]!.store, backends[1]!.store]);
    }, 120_000);
  },
);
