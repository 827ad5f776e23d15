// The outputs a node exposes to promises: its interface's outputs, renamed by its output aliases.
import type { idl } from '@flyte-ts/core';
import type { NodeBuilder } from '../builder.js';
import type { IssueScope } from '../errors.js';

/**
 * The node's outputs by the names promises use (aliases applied), or undefined when its interface is not
 * known yet. Duplicate aliases are `DuplicateAlias`; an alias of a missing output is `ParameterNotBound`.
 */
export function effectiveOutputs(
  node: NodeBuilder,
  scope: IssueScope,
): { readonly [name: string]: idl.core.Variable } | undefined {
  if (node.node.outputAliases.length === 0) return node.iface?.outputs?.variables;
  const aliases = new Map<string, string>();
  for (const alias of node.node.outputAliases) {
    if (aliases.has(alias.var)) {
      scope.collect(
        'DuplicateAlias',
        node.node.id,
        `Duplicate alias [${alias.alias}] found. An output alias can only be used once in the Workflow.`,
      );
    } else {
      aliases.set(alias.var, alias.alias);
    }
  }
  if (node.iface === undefined) return undefined;
  const outputs: { [name: string]: idl.core.Variable } = {};
  for (const [name, variable] of Object.entries(node.iface.outputs?.variables ?? {})) {
    const alias = aliases.get(name);
    if (alias === undefined) {
      outputs[name] = variable;
    } else {
      outputs[alias] = variable;
      aliases.delete(name);
    }
  }
  for (const alias of aliases.values())
    scope.collect('ParameterNotBound', node.node.id, `Parameter not bound [${alias}].`);
  return outputs;
}
