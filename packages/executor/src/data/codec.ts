// The dataset codec the engine gives running tasks: CSV and Parquet through the BlobStore.
import { DataAccessError, type DatasetCodec } from '@flyte-ts/core';
import { readDataset, readDatasetRows, writeDataset, type DatasetFormat } from './datasets/index.js';

/** Dataset formats the engine reads and writes. */
export const DATASET_FORMATS: readonly DatasetFormat[] = ['parquet', 'csv'];

function formatOf(format: string, uri: string): DatasetFormat {
  const lower = (format === '' ? 'parquet' : format).toLowerCase();
  if ((DATASET_FORMATS as readonly string[]).includes(lower)) return lower as DatasetFormat;
  throw new DataAccessError(
    `${uri}: dataset format ${JSON.stringify(format)} is not one this engine reads or writes (${DATASET_FORMATS.join(', ')})`,
    uri,
  );
}

/**
 * The dataset codec running tasks get (`TaskRunContext.data.datasets`): CSV and Parquet, Parquet when the format is
 * empty; other formats are refused with `NO_DATA_ACCESS`.
 */
export const DATASET_CODEC: DatasetCodec = {
  write: (blob, uri, format, columns, rows, options) =>
    writeDataset(blob, uri, formatOf(format, uri), columns, rows, options),
  read: (blob, uri, format, columns, options) => readDataset(blob, uri, formatOf(format, uri), columns, options),
  readRows: (blob, uri, format, columns, options) =>
    readDatasetRows(blob, uri, formatOf(format, uri), columns, options),
};
