// Loading flytekit-serialized packages: every file of Flyte's flytesnacks corpus classifies as what it is
// (by content, not name), and damaged files are coded errors.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { idl, t, task } from '@flyte-ts/core';
import {
  classifySerializedEntity,
  compilePackage,
  loadSerializedDirectory,
  loadSerializedEntities,
  UnrecognizedEntityError,
} from '@flyte-ts/compiler';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const conformanceDir = process.env['FLYTE_TS_CONFORMANCE_DIR'] ?? resolve(repoRoot, '..', 'shared', 'conformance');
const dataDir = join(conformanceDir, 'flytepropeller-compiler', 'snacks-core');
const available = existsSync(dataDir);
if (!available) console.warn(`load: corpus tests skipped: Flyte's conformance data not found at ${dataDir}`);
const files = available
  ? readdirSync(dataDir)
      .filter((f) => f.endsWith('.pb'))
      .sort()
  : [];

/** What each file is, by the corpus's naming (the README of the data): used only to check the classifier. */
function expectedKind(file: string): string {
  if (file.endsWith('_1.pb')) return 'task';
  if (file.endsWith('_3.pb')) return 'launch-plan';
  return file.startsWith('064_') || file.startsWith('066_') ? 'workflow-spec' : 'workflow-closure';
}

function unrecognized(name: string, bytes: Uint8Array): UnrecognizedEntityError {
  try {
    classifySerializedEntity(name, bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(UnrecognizedEntityError);
    return error as UnrecognizedEntityError;
  }
  throw new Error(`${name} was classified`);
}

describe.skipIf(!available)('the flytesnacks corpus', () => {
  it('classifies all 183 files by content', () => {
    expect(files).toHaveLength(183);
    let correct = 0;
    for (const file of files) {
      const entity = classifySerializedEntity(file, readFileSync(join(dataDir, file)));
      expect(entity.kind, file).toBe(expectedKind(file));
      correct++;
    }
    console.log(`classified: ${correct}/${files.length}`);
  });

  it('loads as a package that compiles: tasks, workflows with subworkflows, launch plans', async () => {
    const pkg = await loadSerializedDirectory(dataDir);
    expect(pkg.entities).toHaveLength(183);
    expect(pkg.tasks).toHaveLength(87);
    expect(pkg.launchPlans).toHaveLength(51);
    // 43 closures and 2 specs, of which the specs of 064 and 066 carry subworkflows.
    expect(pkg.workflows).toHaveLength(45);
    const compiled = compilePackage(pkg);
    expect(compiled.workflows).toHaveLength(45);
    const nested = compiled.workflows.find(
      (w) => w.spec.template?.id?.name === 'core.control_flow.subworkflows.nested_parent_wf',
    )!;
    expect(nested.closure.subWorkflows.map((s) => s.template?.id?.name).sort()).toEqual([
      'core.control_flow.subworkflows.my_subwf',
      'core.control_flow.subworkflows.parent_wf',
    ]);
    // Referenced subworkflows are compiled: start and end nodes, connections.
    for (const sub of nested.closure.subWorkflows) {
      expect(sub.template?.nodes.map((n) => n.id).slice(0, 2)).toEqual(['start-node', 'end-node']);
      expect(Object.keys(sub.connections?.downstream ?? {})).toContain('start-node');
    }
  });

  it('rejects every file truncated, with the file named', () => {
    for (const file of files) {
      const bytes = readFileSync(join(dataDir, file));
      for (const length of [bytes.length - 1, Math.floor(bytes.length / 2), 7]) {
        const error = unrecognized(file, bytes.subarray(0, length));
        expect(error.code).toBe('UNRECOGNIZED_ENTITY');
        expect(error.id).toBe(file);
      }
    }
  });
});

describe('damaged and foreign files', () => {
  it('rejects random bytes', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 200; i++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(random() * 2000) }, () => Math.floor(random() * 256));
      expect(unrecognized(`random-${i}.pb`, bytes).code).toBe('UNRECOGNIZED_ENTITY');
    }
  });

  it('rejects an empty file, JSON and other protobuf messages', () => {
    expect(unrecognized('empty.pb', new Uint8Array()).message).toContain('empty.pb is not a serialized Flyte entity');
    expect(unrecognized('json.pb', new TextEncoder().encode('{"template": {}}')).code).toBe('UNRECOGNIZED_ENTITY');
    const literal = toBinary(idl.core.LiteralSchema, t.string().toLiteral('not an entity'));
    expect(unrecognized('literal.pb', literal).code).toBe('UNRECOGNIZED_ENTITY');
  });

  it('loads what this package serializes', () => {
    const hello = task({ name: 'load.hello', inputs: { n: t.int() }, outputs: { s: t.string() } }, ({ n }) => ({
      s: `${n}`,
    }));
    const spec = {
      name: 'hello_1.pb',
      bytes: toBinary(idl.admin.TaskSpecSchema, { $typeName: 'flyteidl.admin.TaskSpec', template: hello.template() }),
    };
    const pkg = loadSerializedEntities([spec]);
    expect(pkg.tasks.map((s) => s.template?.id?.name)).toEqual(['load.hello']);
  });
});
