// Where an execution's inputs live. Each call that creates an execution writes its inputs, and the files uploaded
// for them, under locations of its own (a random suffix), and the execution record references them
// (`ExecutionRecord.inputsUri`, FlyteAdmin's `inputs_uri`): two calls racing for one execution name never
// overwrite each other's inputs, and the call that lost removes what it wrote. Executions written before records
// referenced their inputs keep them at the execution's fixed `inputs.pb`.
import { randomBytes } from 'node:crypto';
import { joinUri, type BlobStore, type ExecutionRecord, type idl } from '@flyte-ts/core';

/** Directory of an execution's metadata. */
export function executionDir(metadataPrefix: string, id: idl.core.WorkflowExecutionIdentifier): string {
  return `${metadataPrefix.replace(/\/+$/, '')}/${id.project}/${id.domain}/${id.name}`;
}

/** URI of an execution's inputs: the one its record references, else the fixed path earlier versions wrote. */
export function executionInputsUri(metadataPrefix: string, record: ExecutionRecord): string {
  return record.inputsUri ?? `${executionDir(metadataPrefix, record.execution.id!)}/inputs.pb`;
}

/** The locations one creation call writes an execution's inputs to. */
export interface InputsLocation {
  /** The input LiteralMap. */
  readonly uri: string;
  /** Prefix of the files, directories and datasets uploaded for the inputs. */
  readonly rawPrefix: string;
}

/** Fresh locations for the inputs of one call creating execution `id`: no other call ever uses them. */
export function newInputsLocation(
  metadataPrefix: string,
  rawOutputPrefix: string,
  id: idl.core.WorkflowExecutionIdentifier,
): InputsLocation {
  const name = `inputs-${randomBytes(8).toString('hex')}`;
  return {
    uri: `${executionDir(metadataPrefix, id)}/${name}.pb`,
    rawPrefix: joinUri(rawOutputPrefix, id.project, id.domain, id.name, name),
  };
}

/** Deletes what was written at `location` (for an execution the call did not create). */
export async function discardInputs(blob: BlobStore, location: InputsLocation): Promise<void> {
  const uris = [location.uri];
  let token: string | undefined;
  do {
    const page = await blob.list(`${location.rawPrefix}/`, token === undefined ? {} : { token });
    uris.push(...page.items.map((item) => item.uri));
    token = page.nextToken;
  } while (token !== undefined);
  await blob.delete(uris);
}
