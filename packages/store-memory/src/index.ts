// @flyte-ts/store-memory: in-memory adapters of the flyte-ts ports (Store, Catalog, BlobStore, ResourceManager)
// and a local-filesystem BlobStore. This file is the package's public API.

export { MemoryStore } from './memory-store.js';
export { ARTIFACT_METADATA_KEYS, MemoryCatalog, type MemoryCatalogOptions } from './memory-catalog.js';
export { MemoryBlobStore } from './memory-blob-store.js';
export { LocalFsBlobStore, type LocalFsBlobStoreOptions } from './local-fs-blob-store.js';
export { LOCAL_FS_CONFINEMENTS, type LocalFsConfinement } from './root-guard.js';
export { MemoryResourceManager, type MemoryResourceManagerOptions } from './memory-resource-manager.js';
