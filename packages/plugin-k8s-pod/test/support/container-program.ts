// What the simulated image runs for `flyte-ts-execute ... -- task-name <name>`: a raw container speaking Flyte's
// data contract (reads inputs.pb from a file:// URI, writes outputs.pb, or error.pb / an exit code on failure).
// Its behaviour is chosen by the task name, so tests can make pods succeed, fail or run until stopped.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromLiteralMap, idl, t, toLiteralMap } from '@flyte-ts/core';

const args = process.argv.slice(2);
const arg = (name: string): string => {
  const at = args.indexOf(name);
  if (at < 0 || args[at + 1] === undefined) throw new Error(`missing ${name}`);
  return args[at + 1]!;
};
const taskName = arg('task-name');
const inputs = fromBinary(idl.core.LiteralMapSchema, readFileSync(fileURLToPath(arg('--inputs'))));
const outputDir = fileURLToPath(arg('--output-prefix'));
const write = (file: string, bytes: Uint8Array) => {
  mkdirSync(dirname(`${outputDir}/${file}`), { recursive: true });
  writeFileSync(`${outputDir}/${file}`, bytes);
};

switch (taskName.split('.').pop()) {
  case 'double': {
    const { x } = fromLiteralMap({ x: t.int() }, inputs);
    write('outputs.pb', toBinary(idl.core.LiteralMapSchema, toLiteralMap({ y: t.int() }, { y: x * 2 })));
    break;
  }
  case 'greet': {
    const { name } = fromLiteralMap({ name: t.string() }, inputs);
    const greeting = `${process.env['GREETING'] ?? 'hello'} ${name} (${process.env['_FSEC_DB_PASSWORD'] ?? 'no secret'})`;
    write('outputs.pb', toBinary(idl.core.LiteralMapSchema, toLiteralMap({ greeting: t.string() }, { greeting })));
    break;
  }
  case 'crash':
    process.stderr.write('boom: division by zero\n');
    process.exit(3);
    break;
  case 'raise': {
    const error = create(idl.core.ContainerErrorSchema, {
      code: 'USER:ValueError',
      message: 'x must be positive',
      kind: idl.core.ContainerError_Kind.NON_RECOVERABLE,
      origin: idl.core.ExecutionError_ErrorKind.USER,
    });
    write('error.pb', toBinary(idl.core.ErrorDocumentSchema, create(idl.core.ErrorDocumentSchema, { error })));
    break;
  }
  case 'wait': {
    // Runs until the file named by $GATE exists (the test creates it), then doubles.
    const { x } = fromLiteralMap({ x: t.int() }, inputs);
    const gate = process.env['GATE'] ?? '';
    const poll = setInterval(() => {
      try {
        readFileSync(gate);
      } catch {
        return;
      }
      clearInterval(poll);
      write('outputs.pb', toBinary(idl.core.LiteralMapSchema, toLiteralMap({ y: t.int() }, { y: x * 2 })));
    }, 20);
    break;
  }
  default:
    throw new Error(`unknown task ${taskName}`);
}
