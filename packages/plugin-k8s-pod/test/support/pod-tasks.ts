// TypeScript tasks that run as pods: container tasks whose containers run `flyte-ts-execute`, which loads this
// module (`module: import.meta.url`) and runs the task by name. Tests import the same module to build workflows.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { t, task } from '@flyte-ts/core';

const image = 'example/flyte-ts-tasks:1';

/** A user error of the failing task. */
export class ValidationError extends Error {
  /** @param message what is invalid */
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

/** Writes a report as a local file in the pod; the data access uploads it under the raw-output prefix. */
export const writeReport = task(
  {
    name: 'pods.write_report',
    inputs: { title: t.string(), lines: t.int() },
    outputs: { report: t.file({ format: 'txt' }) },
    taskType: 'container',
    image,
    module: import.meta.url,
  },
  async ({ title, lines }, { data }) => {
    const dir = data?.workDir;
    if (dir === undefined) throw new Error('no work directory: not run by flyte-ts-execute');
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'report.txt');
    const body = Array.from({ length: lines }, (_, i) => `${title} line ${i + 1}`).join('\n');
    await writeFile(path, `${body}\n`);
    return { report: { path } };
  },
);

/** Reads the report (a file from the blob store) and counts its words. */
export const countWords = task(
  {
    name: 'pods.count_words',
    inputs: { report: t.file({ format: 'txt' }) },
    outputs: { words: t.int(), summary: t.string() },
    taskType: 'container',
    image,
    module: import.meta.url,
  },
  async ({ report }, { execution, attempt }) => {
    const words = (await report.text()).split(/\s+/).filter((w) => w !== '').length;
    return { words, summary: `${words} words, execution ${execution?.name ?? '?'}, attempt ${attempt}` };
  },
);

/** Squares a number. */
export const square = task(
  {
    name: 'pods.square',
    inputs: { x: t.int() },
    outputs: { y: t.int() },
    taskType: 'container',
    image,
    module: import.meta.url,
  },
  ({ x }) => ({ y: x * x }),
);

/** Rejects a negative number with a user error (retried once). */
export const validate = task(
  {
    name: 'pods.validate',
    inputs: { x: t.int() },
    outputs: { x: t.int() },
    taskType: 'container',
    image,
    module: import.meta.url,
    retries: 1,
  },
  ({ x }) => {
    if (x < 0) throw new ValidationError(`x must not be negative, got ${x}`);
    return { x };
  },
);

/** Fails with an error that says retrying is pointless. */
export const refuse = task(
  { name: 'pods.refuse', inputs: {}, outputs: {}, taskType: 'container', image, module: import.meta.url, retries: 3 },
  () => {
    throw Object.assign(new RangeError('this never works'), { retryable: false });
  },
);
