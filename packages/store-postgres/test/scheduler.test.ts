// Two engines on one embedded PGlite database (sharing its backend: PGlite has one connection), each running the
// reference scheduler over a fixed rate of one minute, on a shared manual clock advanced 1,000 minutes: every
// scheduled time is fired exactly once. The same test on a PostgreSQL server is scheduler-server.test.ts.
import { afterAll, describe, it } from 'vitest';
import { FIRES, twoEnginesFireOnce } from './fixtures/two-engine-schedules.js';
import { once, pgliteBackend } from './support.js';

describe('two engines on one PGlite database', () => {
  const backend = once(pgliteBackend);
  afterAll(async () => (await backend()).close(), 60_000);

  it(`fire each of ${FIRES} scheduled times exactly once`, async () => {
    const { store } = await backend();
    await twoEnginesFireOnce([store, store]);
  }, 120_000);
});
