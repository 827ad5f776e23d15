// The shared contract suites of @flyte-ts/core/testing, run against the PostgreSQL adapters: always on embedded
// PGlite, and also on a PostgreSQL server when DATABASE_URL is set. One database serves all suites of a
// backend; the suites isolate themselves by the names they create.
import { afterAll, describe } from 'vitest';
import { catalogContract, resourceManagerContract, storeContract } from '@flyte-ts/core/testing';
import { DATABASE_URL, once, pgliteBackend, SERVER_SKIP_REASON, serverBackend } from './support.js';

describe('on PGlite', () => {
  const backend = once(pgliteBackend);
  afterAll(async () => (await backend()).close(), 60_000);

  storeContract('PostgresStore', async () => ({ store: (await backend()).store }));
  catalogContract('PostgresCatalog', async () => ({ catalog: (await backend()).catalog }));
  resourceManagerContract('PostgresResourceManager', async () => ({
    resourceManager: (await backend()).resourceManager,
  }));
});

describe.skipIf(DATABASE_URL === undefined)(
  `on a PostgreSQL server (${DATABASE_URL === undefined ? SERVER_SKIP_REASON : 'DATABASE_URL'})`,
  () => {
    const backend = once(() => serverBackend('contracts'));
    afterAll(async () => (await backend()).close(), 60_000);

    storeContract('PostgresStore', async () => ({ store: (await backend()).store }));
    catalogContract('PostgresCatalog', async () => ({ catalog: (await backend()).catalog }));
    resourceManagerContract('PostgresResourceManager', async () => ({
      resourceManager: (await backend()).resourceManager,
    }));
  },
);
