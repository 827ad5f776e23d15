// compileTask: validates a TaskTemplate the way Flyte does before registration (an id; a container with an
// image, a command when the task has inputs or outputs, Kubernetes quantities as resources; pod specs with
// valid container names) and wraps it as a CompiledTask.
import { clone, create } from '@bufbuild/protobuf';
import { checkTaskNesting, idl, isKubernetesQuantity } from '@flyte-ts/core';
import { CompileError, IssueScope } from './errors.js';
import { identifierText } from './ids.js';

/** A DNS-1123 label, as Kubernetes requires of container names. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Options of {@link compileTask}. */
export interface CompileTaskOptions {
  /** Return the given template itself rather than a copy (Flyte's behaviour; saves a clone on hot paths). */
  readonly inPlace?: boolean;
}

/**
 * Compiles a task template.
 * @throws {CompileError} listing every issue: `ValueRequired` (no id, no image, no command), `UnrecognizedValue`
 *   (a resource that is not a quantity), `InvalidValue` (a pod spec that is not one, or a bad container name).
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` when its interface types, custom configuration or pod spec nest
 *   deeper than `MAX_NESTING_DEPTH`.
 */
export function compileTask(template: idl.core.TaskTemplate, options: CompileTaskOptions = {}): idl.core.CompiledTask {
  // Before anything walks the template recursively (validation, the copy): deep types or configs are refused.
  checkTaskNesting(template, `task ${template.id?.name ?? identifierText(template.id)}`);
  const scope = new IssueScope();
  validateTask(template, scope);
  if (scope.hasErrors())
    throw new CompileError(`task ${template.id?.name ?? identifierText(template.id)}`, scope.issues);
  return create(idl.core.CompiledTaskSchema, {
    template: options.inPlace === true ? template : clone(idl.core.TaskTemplateSchema, template),
  });
}

/** Collects the issues of a task template into `scope`. */
export function validateTask(template: idl.core.TaskTemplate, scope: IssueScope): void {
  if (template.id === undefined) scope.collect('ValueRequired', 'root', 'Value required [Id].');
  switch (template.target.case) {
    case 'container':
      validateContainer(template, template.target.value, scope.child());
      break;
    case 'k8sPod':
      validatePod(template.target.value, scope.child());
      break;
    default:
      break;
  }
}

function validateContainer(template: idl.core.TaskTemplate, container: idl.core.Container, scope: IssueScope): void {
  const iface = template.interface;
  const hasVariables =
    Object.keys(iface?.inputs?.variables ?? {}).length > 0 || Object.keys(iface?.outputs?.variables ?? {}).length > 0;
  if (iface !== undefined && hasVariables && container.command.length === 0 && container.args.length === 0) {
    scope.collect(
      'ValueRequired',
      'container',
      'Value required [command]: a task with inputs or outputs needs a command or args.',
    );
  }
  if (container.image === '') scope.collect('ValueRequired', 'container', 'Value required [image].');
  const entries = [...(container.resources?.requests ?? []), ...(container.resources?.limits ?? [])];
  for (const entry of entries) {
    if (!isKubernetesQuantity(entry.value)) {
      const name = idl.core.Resources_ResourceName[entry.name] ?? String(entry.name);
      scope.collect(
        'UnrecognizedValue',
        `resources.${name}`,
        `Unrecognized value [${entry.value}]: not a Kubernetes quantity.`,
      );
    }
  }
}

function validatePod(pod: idl.core.K8sPod, scope: IssueScope): void {
  const spec = pod.podSpec;
  const containers = spec?.['containers'];
  if (spec === undefined || (containers !== undefined && !Array.isArray(containers))) {
    scope.collect('InvalidValue', 'root', 'Invalid value [k8s pod spec].');
    return;
  }
  for (const container of containers ?? []) {
    const name =
      container !== null && typeof container === 'object' && !Array.isArray(container) ? container['name'] : undefined;
    if (typeof name !== 'string' || name.length > 63 || !DNS1123_LABEL.test(name)) {
      scope.collect(
        'InvalidValue',
        'root',
        `Invalid value [k8s pod spec container name ${JSON.stringify(name ?? '')}].`,
      );
    }
  }
}
