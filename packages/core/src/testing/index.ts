// @flyte-ts/core/testing: the contract suites every adapter runs against itself (vitest), so that "implements
// the port" means "passes the contract". Import it from test files only: it registers vitest suites.

export { storeContract, type StoreFactory, type StoreUnderTest } from './store-contract.js';
export { blobStoreContract, type BlobStoreFactory, type BlobStoreUnderTest } from './blob-store-contract.js';
export { catalogContract, type CatalogFactory, type CatalogUnderTest } from './catalog-contract.js';
export {
  resourceManagerContract,
  type ResourceManagerFactory,
  type ResourceManagerUnderTest,
} from './resource-manager-contract.js';
