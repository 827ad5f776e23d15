// @flyte-ts/store-postgres: the Store, Catalog and ResourceManager ports on PostgreSQL through Kysely, on a
// PostgreSQL server (`pg`) or embedded PGlite. This file is the package's public API.

export {
  createPgliteStore,
  createPostgresStore,
  type BackendOptions,
  type PgliteStoreOptions,
  type PostgresBackend,
  type PostgresConnection,
  type PostgresStoreOptions,
} from './backend.js';
export {
  lockDataDirectory,
  LOCK_DIRECTORY_NAME,
  type DataDirectoryLock,
  type DataDirectoryLockOptions,
  type LockHolder,
} from './data-directory-lock.js';
export { POSTGRES_STORE_ERROR_CODES, StoreLockedError, type PostgresStoreErrorCode } from './errors.js';
export { PostgresStore } from './postgres-store.js';
export { NOTICE_CHANNEL, type PostgresNotifications } from './notifications.js';
export { PostgresCatalog, type PostgresCatalogOptions } from './postgres-catalog.js';
export { PostgresResourceManager, type PostgresResourceManagerOptions } from './postgres-resource-manager.js';
export { migrateToLatest, MIGRATION_LOCK_TABLE, MIGRATION_TABLE, type MigrationReport } from './migrations.js';
export { PgliteDialect, type PgliteDialectConfig } from './pglite-dialect.js';
export type { PostgresDatabase } from './schema.js';
