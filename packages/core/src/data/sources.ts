// What a task may return for a file, directory or dataset, and how each form becomes a URI: references are kept,
// local files and directories, byte streams and rows are uploaded under the attempt's raw-output prefix (the
// upload is planned during the synchronous conversion and run before the outputs are written).
import { createReadStream, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NotFoundError } from '../errors.js';
import type { BlobBody } from '../ports/blob-store.js';
import { currentDataScope, DataAccessError, type DatasetColumn, type DatasetRow } from './access.js';
import { isHandle, listLocalFiles, type FlyteDirectory, type FlyteFile, type StructuredDataset } from './handles.js';

/** A reference to data that already lives in a store. */
export interface DataReference {
  /** Its URI (`s3://...`, `file:///...`, `mem://...`). */
  readonly uri: string;
  /** Its format, if known. */
  readonly format?: string | undefined;
}

/** A local file or directory, uploaded when returned by a task run by an engine. */
export interface LocalData {
  /** Path on this machine (absolute, or relative to the working directory). */
  readonly path: string;
  /** Its format, if known. */
  readonly format?: string | undefined;
}

/** Bytes or a stream of chunks (or a string, as UTF-8), uploaded as a file. */
export interface FileContent {
  /** The content. */
  readonly body: BlobBody | string;
  /** File name under the output location (default `data`). */
  readonly name?: string | undefined;
  /** Its format, if known. */
  readonly format?: string | undefined;
}

/** Rows, written as a dataset in the declared format (Parquet by default). */
export interface DatasetContent {
  /** The rows: an array, or any (async) iterable. */
  readonly rows: Iterable<DatasetRow> | AsyncIterable<DatasetRow>;
  /** Storage format (`parquet`, `csv`); default: the declared format, else Parquet. */
  readonly format?: string | undefined;
}

/**
 * What may be returned for a `t.file()`: a URI string (kept as a reference), a local path string (uploaded), a
 * {@link FlyteFile} received as an input (passed on), a reference, a local file or content.
 */
export type FileInput = string | FlyteFile | DataReference | LocalData | FileContent;

/** What may be returned for a `t.directory()`: a URI, a local directory path, a {@link FlyteDirectory}, ... */
export type DirectoryInput = string | FlyteDirectory | DataReference | LocalData;

/** What may be returned for a `t.structuredDataset()`: a URI, a {@link StructuredDataset}, a reference or rows. */
export type DatasetInput = string | StructuredDataset | DataReference | DatasetContent;

/** A classified value. */
export type DataSource =
  | { readonly kind: 'uri'; readonly uri: string; readonly format: string | undefined }
  | { readonly kind: 'path'; readonly path: string; readonly format: string | undefined }
  | {
      readonly kind: 'body';
      readonly body: BlobBody | string;
      readonly name: string | undefined;
      readonly format: string | undefined;
    }
  | {
      readonly kind: 'rows';
      readonly rows: Iterable<DatasetRow> | AsyncIterable<DatasetRow>;
      readonly format: string | undefined;
    };

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

function optionalString(value: unknown): value is string | undefined {
  return value === undefined || typeof value === 'string';
}

function isIterable(value: unknown): value is Iterable<unknown> | AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (Symbol.iterator in value || Symbol.asyncIterator in value) &&
    typeof value !== 'string'
  );
}

/** Reads what a value is (a reference, a local path, content or rows), or undefined when it is none of them. */
export function classifyData(value: unknown, allowed: 'file' | 'directory' | 'dataset'): DataSource | undefined {
  if (typeof value === 'string') {
    if (value === '') return undefined;
    return SCHEME.test(value)
      ? { kind: 'uri', uri: value, format: undefined }
      : allowed === 'dataset'
        ? undefined
        : { kind: 'path', path: value, format: undefined };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (isHandle(value)) return { kind: 'uri', uri: value.uri, format: value.format === '' ? undefined : value.format };
  const record = value as {
    uri?: unknown;
    path?: unknown;
    body?: unknown;
    name?: unknown;
    rows?: unknown;
    format?: unknown;
  };
  if (!optionalString(record.format)) return undefined;
  const format = record.format;
  const keys = ['uri', 'path', 'body', 'rows'].filter((k) => (record as Record<string, unknown>)[k] !== undefined);
  if (keys.length !== 1) return undefined;
  if (typeof record.uri === 'string') return record.uri === '' ? undefined : { kind: 'uri', uri: record.uri, format };
  if (allowed !== 'dataset' && typeof record.path === 'string' && record.path !== '') {
    return { kind: 'path', path: record.path, format };
  }
  if (allowed === 'file' && record.body !== undefined && optionalString(record.name)) {
    const body = record.body;
    if (typeof body === 'string' || body instanceof Uint8Array || isIterable(body)) {
      return { kind: 'body', body: body as BlobBody | string, name: record.name, format };
    }
  }
  if (allowed === 'dataset' && isIterable(record.rows)) {
    return { kind: 'rows', rows: record.rows as Iterable<DatasetRow> | AsyncIterable<DatasetRow>, format };
  }
  return undefined;
}

function checkName(name: string, path: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\')) {
    throw new DataAccessError(`${path}: file name ${JSON.stringify(name)} must be one path segment`, path);
  }
  return name;
}

function localKind(local: string, path: string, expected: 'file' | 'directory'): string {
  const absolute = resolve(local);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(absolute).isDirectory();
  } catch {
    throw new NotFoundError(`${path}: local ${expected} ${absolute} does not exist`, { id: path });
  }
  if (isDirectory !== (expected === 'directory')) {
    throw new NotFoundError(`${path}: ${absolute} is not a ${expected}`, { id: path });
  }
  return absolute;
}

/**
 * The URI of a file value; local files and content are uploaded (planned on the active data scope). Without a
 * scope, a local path becomes its `file://` URI and content is refused.
 */
export function placeFile(source: DataSource, path: string): string {
  const scope = currentDataScope();
  switch (source.kind) {
    case 'uri':
      return source.uri;
    case 'path': {
      const local = localKind(source.path, path, 'file');
      if (scope?.access === undefined) return pathToFileURL(local).href;
      const target = `${scope.destination(path, 'a local file')}/${checkName(basename(local), path)}`;
      scope.plan(async (access) => {
        await access.blob.put(target, createReadStream(local), { signal: access.signal });
      });
      return target;
    }
    case 'body': {
      const contentScope = currentScopeOrThrow(path, 'file content');
      const target = `${contentScope.destination(path, 'file content')}/${checkName(source.name ?? 'data', path)}`;
      const body = typeof source.body === 'string' ? new TextEncoder().encode(source.body) : source.body;
      contentScope.plan(async (access) => {
        await access.blob.put(target, body, { signal: access.signal });
      });
      return target;
    }
    case 'rows':
      throw new DataAccessError(`${path}: rows are a dataset, not a file`, path);
  }
}

/** The URI of a directory value; a local directory is uploaded file by file under the output location. */
export function placeDirectory(source: DataSource, path: string): string {
  const scope = currentDataScope();
  if (source.kind === 'uri') return source.uri.replace(/\/+$/, '');
  if (source.kind !== 'path') throw new DataAccessError(`${path}: a directory is a URI or a local path`, path);
  const local = localKind(source.path, path, 'directory');
  if (scope?.access === undefined) return pathToFileURL(local).href;
  const target = scope.destination(path, 'a local directory');
  scope.plan(async (access) => {
    for (const rel of await listLocalFiles(local)) {
      await access.blob.put(`${target}/${rel}`, createReadStream(join(local, ...rel.split('/'))), {
        signal: access.signal,
      });
    }
  });
  return target;
}

/** The URI of a dataset value; rows are written in `format` under the output location. */
export function placeDataset(
  source: DataSource,
  path: string,
  format: string,
  columns: readonly DatasetColumn[] | undefined,
): string {
  if (source.kind === 'uri') return source.uri;
  if (source.kind !== 'rows') throw new DataAccessError(`${path}: a dataset is a URI or rows`, path);
  const scope = currentScopeOrThrow(path, 'dataset rows');
  const target = scope.destination(path, 'dataset rows');
  const rows = source.rows;
  scope.plan(async (access) => {
    if (access.datasets === undefined) {
      throw new DataAccessError(`${path}: this engine writes no dataset formats (no dataset codec)`, path);
    }
    await access.datasets.write(access.blob, target, format, columns, rows, { signal: access.signal });
  });
  return target;
}

function currentScopeOrThrow(path: string, what: string) {
  const scope = currentDataScope();
  if (scope?.access === undefined) {
    throw new DataAccessError(
      `${path}: ${what} must be uploaded, which needs an engine (or TaskRunContext.data)`,
      path,
    );
  }
  return scope;
}
