// Flyte's copilot contract for raw containers (any image, no SDK), as two subcommands of `flyte-ts-execute`:
//   copilot-download: an init container writes the task's inputs as files under the input path (a file per input
//     named after it: primitives as text, blobs downloaded as a file or a directory, collections and maps as
//     directories of their items), plus inputs.pb (always) and inputs.json / inputs.yaml of the whole map.
//   copilot-upload: a sidecar waits for the primary container to end (polling the pod through the Kubernetes
//     API), then reads a file per output under the output path (primitives parsed per the task interface, blobs
//     uploaded under the raw-output prefix) — or takes <output path>/outputs.pb verbatim when the container wrote
//     one — and writes outputs.pb, or error.pb when the container wrote `_ERROR` or an output is missing or bad.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { create, fromBinary, toBinary, toJson, type JsonValue, type MessageInitShape } from '@bufbuild/protobuf';
import { DurationSchema, timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { idl } from '@flyte-ts/core';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ExecuteUsageError } from './args.js';
import { BlobStores, type ExecuteEnv } from './blob-stores.js';

/** Name of the file a raw container writes under the output path to fail the task with its content. */
export const COPILOT_ERROR_FILE = '_ERROR';
/** Largest primitive output file accepted (as Flyte's copilot: 1 KiB). */
export const COPILOT_MAX_PRIMITIVE_BYTES = 1024;

/** How to call the copilot subcommands. */
export const COPILOT_USAGE =
  'usage: flyte-ts-execute copilot-download --inputs <uri> --to <dir> [--format json|yaml|proto]\n' +
  '       flyte-ts-execute copilot-upload --from <dir> --output-prefix <uri> --raw-output-data-prefix <uri> ' +
  '--interface <base64 TypedInterface> --pod-name <name> --namespace <ns> --container <primary> ' +
  '[--poll-ms <ms>] [--start-timeout-ms <ms>]';

/** Options of {@link runCopilot}. */
export interface RunCopilotOptions {
  /** The container's environment (default `process.env`): blob-store settings, `KUBECONFIG`. */
  readonly env?: ExecuteEnv;
  /** Aborted when the container is stopped. */
  readonly signal?: AbortSignal;
  /** Where diagnostics go (default: standard error). */
  readonly log?: (line: string) => void;
  /** The Kubernetes configuration of the uploader (default: `KUBECONFIG`, else the pod's service account). */
  readonly kubeConfig?: KubeConfig;
}

/**
 * Runs `flyte-ts-execute copilot-download ...` or `copilot-upload ...` (`argv` starts with the subcommand) and
 * resolves to the exit code: 0 when done (for the uploader also when the primary container failed, whose exit
 * is the task's error, and when error.pb was written), 1 when the work failed, 2 for a bad command line.
 * Never throws.
 */
export async function runCopilot(argv: readonly string[], options: RunCopilotOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const stores = new BlobStores(env);
  const signal = options.signal ?? new AbortController().signal;
  const [command, ...rest] = argv;
  try {
    if (command === 'copilot-download') {
      await download(parse(rest, DOWNLOAD_OPTIONS, ['--inputs', '--to']), stores, signal, log);
      return 0;
    }
    if (command === 'copilot-upload') {
      const required = ['--from', '--output-prefix', '--raw-output-data-prefix', '--interface'] as const;
      const args = parse(rest, UPLOAD_OPTIONS, [...required, '--pod-name', '--namespace', '--container']);
      return await upload(args, stores, signal, log, options.kubeConfig);
    }
    throw new ExecuteUsageError(`unknown copilot command ${command ?? ''}`);
  } catch (error) {
    if (error instanceof ExecuteUsageError) {
      log(`flyte-ts-execute: ${error.message}\n${COPILOT_USAGE}`);
      return 2;
    }
    log(
      `flyte-ts-execute ${command ?? ''}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return 1;
  } finally {
    await stores.close();
  }
}

const DOWNLOAD_OPTIONS = ['--inputs', '--to', '--format'] as const;
const UPLOAD_OPTIONS = [
  '--from',
  '--output-prefix',
  '--raw-output-data-prefix',
  '--interface',
  '--pod-name',
  '--namespace',
  '--container',
  '--poll-ms',
  '--start-timeout-ms',
] as const;

function parse<K extends string>(
  argv: readonly string[],
  known: readonly K[],
  required: readonly K[],
): Partial<Record<K, string>> {
  const values: Partial<Record<K, string>> = {};
  for (let at = 0; at < argv.length; at++) {
    const arg = argv[at]!;
    const eq = arg.indexOf('=');
    const name = (eq < 0 ? arg : arg.slice(0, eq)) as K;
    if (!known.includes(name)) throw new ExecuteUsageError(`unknown argument ${arg}`);
    const value = eq < 0 ? argv[++at] : arg.slice(eq + 1);
    if (value === undefined) throw new ExecuteUsageError(`${name} needs a value`);
    if (values[name] !== undefined) throw new ExecuteUsageError(`${name} is given twice`);
    values[name] = value;
  }
  for (const name of required) {
    if ((values[name] ?? '') === '') throw new ExecuteUsageError(`${name} is required`);
  }
  return values;
}

// ---------------------------------------------------------------------------------------------------- download

type Format = 'json' | 'yaml' | 'proto';

async function download(
  args: Partial<Record<(typeof DOWNLOAD_OPTIONS)[number], string>>,
  stores: BlobStores,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<void> {
  const format = (args['--format'] ?? 'json').toLowerCase();
  if (format !== 'json' && format !== 'yaml' && format !== 'proto') {
    throw new ExecuteUsageError(`--format must be json, yaml or proto, not ${format}`);
  }
  const dir = args['--to']!;
  const inputsUri = args['--inputs']!;
  const inputs = fromBinary(idl.core.LiteralMapSchema, await (await stores.for(inputsUri)).get(inputsUri, { signal }));
  await mkdir(dir, { recursive: true });
  const values: Record<string, JsonValue> = {};
  const local = create(idl.core.LiteralMapSchema);
  for (const [name, literal] of Object.entries(inputs.literals)) {
    const [value, rewritten] = await writeLiteral(literal, join(dir, name), stores, signal);
    values[name] = value;
    local.literals[name] = rewritten;
  }
  // inputs.pb always (blob URIs rewritten to the local paths); the whole map in the chosen format as well.
  await writeFile(join(dir, 'inputs.pb'), toBinary(idl.core.LiteralMapSchema, local));
  // JSON is YAML (1.2): inputs.yaml holds the same document, which every YAML parser reads.
  if (format !== 'proto') await writeFile(join(dir, `inputs.${format satisfies Format}`), JSON.stringify(values));
  log(`flyte-ts-execute copilot-download: ${Object.keys(values).length} inputs written to ${dir}`);
}

/** Writes a literal at `path` and returns its value for inputs.json and the literal with local blob URIs. */
async function writeLiteral(
  literal: idl.core.Literal,
  path: string,
  stores: BlobStores,
  signal: AbortSignal,
): Promise<[JsonValue, idl.core.Literal]> {
  const value = literal.value;
  switch (value.case) {
    case 'collection': {
      await mkdir(path, { recursive: true });
      const items: JsonValue[] = [];
      const literals: idl.core.Literal[] = [];
      for (const [i, item] of value.value.literals.entries()) {
        const [v, l] = await writeLiteral(item, join(path, String(i)), stores, signal);
        items.push(v);
        literals.push(l);
      }
      return [items, create(idl.core.LiteralSchema, { value: { case: 'collection', value: { literals } } })];
    }
    case 'map': {
      await mkdir(path, { recursive: true });
      const entries: Record<string, JsonValue> = {};
      const literals: Record<string, idl.core.Literal> = {};
      for (const [key, item] of Object.entries(value.value.literals)) {
        [entries[key], literals[key]] = await writeLiteral(item, join(path, key), stores, signal);
      }
      return [entries, create(idl.core.LiteralSchema, { value: { case: 'map', value: { literals } } })];
    }
    case 'scalar': {
      const scalar = value.value.value;
      switch (scalar.case) {
        case 'primitive': {
          const [text, json] = primitiveText(scalar.value);
          await writeFile(path, text);
          return [json, literal];
        }
        case 'noneType':
          await writeFile(path, 'null');
          return [null, literal];
        case 'generic': {
          await writeFile(path, JSON.stringify(scalar.value));
          return [scalar.value, literal];
        }
        case 'blob': {
          const blob = scalar.value;
          const multipart = blob.metadata?.type?.dimensionality === idl.core.BlobType_BlobDimensionality.MULTIPART;
          const store = await stores.for(blob.uri);
          if (multipart) {
            const prefix = `${blob.uri.replace(/\/+$/, '')}/`;
            await mkdir(path, { recursive: true });
            let token: string | undefined;
            do {
              const page = await store.list(prefix, { signal, token });
              for (const item of page.items) {
                const target = join(path, item.uri.slice(prefix.length));
                await mkdir(dirname(target), { recursive: true });
                await writeFile(target, await store.get(item.uri, { signal }));
              }
              token = page.nextToken;
            } while (token !== undefined);
          } else {
            await writeFile(path, await store.get(blob.uri, { signal }));
          }
          const rewritten = create(idl.core.LiteralSchema, {
            value: {
              case: 'scalar',
              value: {
                value: { case: 'blob', value: { ...(blob.metadata && { metadata: blob.metadata }), uri: path } },
              },
            },
          });
          return [path, rewritten];
        }
        default:
          throw new Error(`copilot cannot write ${scalar.case ?? 'empty'} literals as files (${path})`);
      }
    }
    default:
      throw new Error(`copilot cannot write ${value.case ?? 'empty'} literals as files (${path})`);
  }
}

/** A primitive as its file's text and its inputs.json value (int64 beyond 2^53 as a string). */
function primitiveText(primitive: idl.core.Primitive): [string, JsonValue] {
  const value = primitive.value;
  switch (value.case) {
    case 'integer': {
      const n = Number(value.value);
      return [value.value.toString(), Number.isSafeInteger(n) ? n : value.value.toString()];
    }
    case 'floatValue':
      return [String(value.value), Number.isFinite(value.value) ? value.value : String(value.value)];
    case 'stringValue':
      return [value.value, value.value];
    case 'boolean':
      return [String(value.value), value.value];
    case 'datetime': {
      const text = timestampDate(value.value).toISOString();
      return [text, text];
    }
    case 'duration': {
      const text = toJson(DurationSchema, value.value) as string;
      return [text, text];
    }
    default:
      return ['null', null];
  }
}

// ------------------------------------------------------------------------------------------------------ upload

async function upload(
  args: Partial<Record<(typeof UPLOAD_OPTIONS)[number], string>>,
  stores: BlobStores,
  signal: AbortSignal,
  log: (line: string) => void,
  kubeConfig: KubeConfig | undefined,
): Promise<number> {
  let iface: idl.core.TypedInterface;
  try {
    iface = fromBinary(idl.core.TypedInterfaceSchema, Buffer.from(args['--interface']!, 'base64'));
  } catch (error) {
    throw new ExecuteUsageError(`--interface is not a base64 TypedInterface: ${String(error)}`);
  }
  const pollMs = positive(args['--poll-ms'], 1000, '--poll-ms');
  const startTimeoutMs = positive(args['--start-timeout-ms'], 100_000, '--start-timeout-ms');
  const exitCode = await primaryExit(
    kubeConfig ?? defaultKubeConfig(),
    args['--namespace']!,
    args['--pod-name']!,
    args['--container']!,
    pollMs,
    startTimeoutMs,
    signal,
  );
  if (exitCode !== 0) {
    // The primary's exit is the task's error: nothing to upload.
    log(`flyte-ts-execute copilot-upload: container ${args['--container']} exited with ${exitCode}; no upload`);
    return 0;
  }
  const from = args['--from']!;
  const outputPrefix = args['--output-prefix']!.replace(/\/+$/, '');
  let outputs: idl.core.LiteralMap;
  try {
    outputs = await readOutputs(iface, from, args['--raw-output-data-prefix']!.replace(/\/+$/, ''), stores, signal);
  } catch (error) {
    if (!(error instanceof OutputError)) throw error;
    log(`flyte-ts-execute copilot-upload: ${error.code}: ${error.message}`);
    const document = create(idl.core.ErrorDocumentSchema, {
      error: {
        code: error.code,
        message: error.message,
        kind: idl.core.ContainerError_Kind.RECOVERABLE,
        origin: idl.core.ExecutionError_ErrorKind.USER,
      },
    });
    const uri = `${outputPrefix}/error.pb`;
    await (await stores.for(uri)).put(uri, toBinary(idl.core.ErrorDocumentSchema, document));
    return 0;
  }
  const uri = `${outputPrefix}/outputs.pb`;
  await (await stores.for(uri)).put(uri, toBinary(idl.core.LiteralMapSchema, outputs));
  log(`flyte-ts-execute copilot-upload: ${Object.keys(outputs.literals).length} outputs written to ${uri}`);
  return 0;
}

function positive(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new ExecuteUsageError(`${name} must be a positive integer`);
  return n;
}

/** `KUBECONFIG` (or ~/.kube/config) when present, else the pod's service account (in-cluster). */
function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

/**
 * Polls the pod until its container `container` has terminated and resolves to its exit code. Fails when the
 * container has not started within `startTimeoutMs` or the pod is gone.
 */
async function primaryExit(
  kc: KubeConfig,
  namespace: string,
  name: string,
  container: string,
  pollMs: number,
  startTimeoutMs: number,
  signal: AbortSignal,
): Promise<number> {
  const api = kc.makeApiClient(CoreV1Api);
  const since = Date.now();
  for (;;) {
    signal.throwIfAborted();
    const pod = await api.readNamespacedPod({ name, namespace });
    const state = pod.status?.containerStatuses?.find((c) => c.name === container)?.state;
    if (state?.terminated !== undefined) return state.terminated.exitCode;
    if (state?.running === undefined && Date.now() - since > startTimeoutMs) {
      throw new Error(`container ${container} of pod ${namespace}/${name} did not start within ${startTimeoutMs} ms`);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}

/** A user error of the container's outputs: error.pb, not a crash of the uploader. */
class OutputError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'OutputError';
  }
}

const OUTPUT_UPLOAD_FAILED = 'OutputUploadFailed';

async function readOutputs(
  iface: idl.core.TypedInterface,
  from: string,
  rawPrefix: string,
  stores: BlobStores,
  signal: AbortSignal,
): Promise<idl.core.LiteralMap> {
  const errorText = await readIfExists(join(from, COPILOT_ERROR_FILE));
  if (errorText !== undefined) {
    throw new OutputError('USER:ContainerError', new TextDecoder().decode(errorText.subarray(0, 1 << 20)).trim());
  }
  const written = await readIfExists(join(from, 'outputs.pb'));
  if (written !== undefined) {
    try {
      return fromBinary(idl.core.LiteralMapSchema, written);
    } catch (error) {
      throw new OutputError(OUTPUT_UPLOAD_FAILED, `${join(from, 'outputs.pb')} is not a LiteralMap: ${String(error)}`);
    }
  }
  const outputs = create(idl.core.LiteralMapSchema);
  for (const [name, variable] of Object.entries(iface.outputs?.variables ?? {})) {
    const path = join(from, name);
    const type = variable.type?.type;
    if (type?.case === 'simple') {
      outputs.literals[name] = await simpleOutput(type.value, path);
    } else if (type?.case === 'blob') {
      outputs.literals[name] = await blobOutput(type.value, path, `${rawPrefix}/${name}`, stores, signal);
    } else {
      throw new OutputError(OUTPUT_UPLOAD_FAILED, `copilot does not read ${type?.case ?? 'untyped'} output ${name}`);
    }
  }
  return outputs;
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function simpleOutput(type: idl.core.SimpleType, path: string): Promise<idl.core.Literal> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined || !info.isFile()) {
    throw new OutputError(OUTPUT_UPLOAD_FAILED, `output file ${path} was not written`);
  }
  if (info.size > COPILOT_MAX_PRIMITIVE_BYTES) {
    throw new OutputError(
      OUTPUT_UPLOAD_FAILED,
      `output file ${path} has ${info.size} bytes; a primitive may have ${COPILOT_MAX_PRIMITIVE_BYTES}`,
    );
  }
  const text = await readFile(path, 'utf8');
  const trimmed = text.trim();
  const bad = (what: string) =>
    new OutputError(OUTPUT_UPLOAD_FAILED, `output file ${path} holds ${JSON.stringify(text)}, not ${what}`);
  const scalar = (value: NonNullable<MessageInitShape<typeof idl.core.ScalarSchema>['value']>) =>
    create(idl.core.LiteralSchema, { value: { case: 'scalar', value: { value } } });
  const primitive = (value: NonNullable<MessageInitShape<typeof idl.core.PrimitiveSchema>['value']>) =>
    scalar({ case: 'primitive', value: { value } });
  const S = idl.core.SimpleType;
  switch (type) {
    case S.STRING:
      // The file's exact content: a trailing newline is part of the string.
      return primitive({ case: 'stringValue', value: text });
    case S.INTEGER:
      if (!/^[+-]?\d+$/.test(trimmed)) throw bad('an integer');
      return primitive({ case: 'integer', value: BigInt(trimmed) });
    case S.FLOAT: {
      const n = Number(trimmed);
      if (trimmed === '' || Number.isNaN(n)) throw bad('a float');
      return primitive({ case: 'floatValue', value: n });
    }
    case S.BOOLEAN: {
      const b = /^(true|t|1)$/i.test(trimmed) ? true : /^(false|f|0)$/i.test(trimmed) ? false : undefined;
      if (b === undefined) throw bad('a boolean');
      return primitive({ case: 'boolean', value: b });
    }
    case S.DATETIME: {
      const ms = Date.parse(trimmed);
      if (Number.isNaN(ms)) throw bad('a datetime');
      return primitive({ case: 'datetime', value: timestampFromDate(new Date(ms)) });
    }
    case S.DURATION: {
      const duration = parseDuration(trimmed);
      if (duration === undefined) throw bad('a duration (1.5s, 1h2m3s)');
      return primitive({ case: 'duration', value: duration });
    }
    case S.NONE:
      return scalar({ case: 'noneType', value: {} });
    case S.STRUCT:
      try {
        const parsed = JSON.parse(text) as JsonValue;
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('a JSON object');
        return scalar({ case: 'generic', value: parsed });
      } catch (error) {
        if (error instanceof OutputError) throw error;
        throw bad('a JSON object');
      }
    default:
      throw new OutputError(OUTPUT_UPLOAD_FAILED, `copilot does not read ${S[type] ?? type} outputs (${path})`);
  }
}

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** A Go-style duration (`1h2m3.5s`, `250ms`): a sequence of decimal numbers with units. */
function parseDuration(text: string): ReturnType<typeof create<typeof DurationSchema>> | undefined {
  const match = /^(-)?((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(text);
  if (match === null) return undefined;
  let ns = 0n;
  for (const [, number, unit] of match[2]!.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    const [whole, fraction = ''] = number!.split('.');
    const scale = 10n ** BigInt(fraction.length);
    ns += ((BigInt(whole!) * scale + BigInt(fraction || '0')) * UNIT_NS[unit!]!) / scale;
  }
  if (match[1] === '-') ns = -ns;
  return create(DurationSchema, { seconds: ns / 1_000_000_000n, nanos: Number(ns % 1_000_000_000n) });
}

async function blobOutput(
  type: idl.core.BlobType,
  path: string,
  to: string,
  stores: BlobStores,
  signal: AbortSignal,
): Promise<idl.core.Literal> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new OutputError(OUTPUT_UPLOAD_FAILED, `output ${path} was not written`);
  const store = await stores.for(to);
  if (info.isDirectory()) {
    for (const file of await filesUnder(path)) {
      await store.put(`${to}/${relative(path, file).split('\\').join('/')}`, await readFile(file), { signal });
    }
  } else {
    await store.put(to, await readFile(path), { signal });
  }
  const dimensionality = info.isDirectory()
    ? idl.core.BlobType_BlobDimensionality.MULTIPART
    : idl.core.BlobType_BlobDimensionality.SINGLE;
  return create(idl.core.LiteralSchema, {
    value: {
      case: 'scalar',
      value: {
        value: { case: 'blob', value: { uri: to, metadata: { type: { format: type.format, dimensionality } } } },
      },
    },
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}
