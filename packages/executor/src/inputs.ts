// Execution inputs: checked against a launch plan's expected inputs, completed with its defaults and fixed
// inputs. Values may be given as literals or as plain TypeScript values (converted by the declared types).
import { create } from '@bufbuild/protobuf';
import {
  areTypesCastable,
  checkLiteralNesting,
  describeLiteralType,
  formatIdentifier,
  idl,
  isFlyteError,
  literalTypeForLiteral,
  typeFromLiteralType,
} from '@flyte-ts/core';
import { ExecutorError } from './errors.js';

/** Inputs of an execution: a LiteralMap, or plain values by input name. */
export type ExecutionInputs = idl.core.LiteralMap | { readonly [name: string]: unknown };

function isLiteralMap(value: ExecutionInputs): value is idl.core.LiteralMap {
  return (value as { $typeName?: string }).$typeName === 'flyteidl.core.LiteralMap';
}

/**
 * The complete inputs of an execution of `launchPlan`.
 * @throws {ExecutorError} `INVALID_INPUTS` naming the input: unknown, fixed by the launch plan, missing, or of
 *   the wrong type.
 * @throws {NestingTooDeepError} `NESTING_TOO_DEEP` naming the input (`inputs.x`) when it nests deeper than
 *   `MAX_NESTING_DEPTH`.
 */
export function resolveInputs(launchPlan: idl.admin.LaunchPlan, given: ExecutionInputs = {}): idl.core.LiteralMap {
  const where = formatIdentifier(launchPlan.id);
  const parameters = launchPlan.closure?.expectedInputs?.parameters ?? {};
  const fixed = launchPlan.spec?.fixedInputs?.literals ?? {};
  const out = create(idl.core.LiteralMapSchema);
  const entries: [string, unknown][] = isLiteralMap(given) ? Object.entries(given.literals) : Object.entries(given);
  for (const [name, value] of entries) {
    if (Object.hasOwn(fixed, name)) {
      throw new ExecutorError('INVALID_INPUTS', `input ${name} is fixed by launch plan ${where} and cannot be given`, {
        id: name,
      });
    }
    const parameter = Object.hasOwn(parameters, name) ? parameters[name] : undefined;
    const type = parameter?.var?.type;
    if (type === undefined) {
      throw new ExecutorError(
        'INVALID_INPUTS',
        `launch plan ${where} has no input ${name} (inputs: ${Object.keys(parameters).sort().join(', ') || 'none'})`,
        { id: name },
      );
    }
    let literal: idl.core.Literal;
    if (isLiteralMap(given)) {
      literal = value as idl.core.Literal;
      // Refused before the recursive type checks, and before anything is written: no reader could read it back.
      checkLiteralNesting(literal, `inputs.${name}`);
      const actual = literalTypeForLiteral(literal);
      if (actual !== undefined && !areTypesCastable(actual, type)) {
        throw new ExecutorError(
          'INVALID_INPUTS',
          `input ${name}: expected ${describeLiteralType(type)}, got ${describeLiteralType(actual)}`,
          { id: name },
        );
      }
    } else {
      try {
        literal = typeFromLiteralType(type).toLiteral(value as never, `inputs.${name}`);
      } catch (error) {
        if (!isFlyteError(error) || error.code === 'NESTING_TOO_DEEP') throw error;
        throw new ExecutorError('INVALID_INPUTS', error.message, { id: name, cause: error });
      }
    }
    out.literals[name] = literal;
  }
  for (const [name, parameter] of Object.entries(parameters)) {
    if (Object.hasOwn(out.literals, name)) continue;
    if (parameter.behavior.case === 'default') out.literals[name] = parameter.behavior.value;
    else if (parameter.behavior.case === 'required' && parameter.behavior.value) {
      throw new ExecutorError('INVALID_INPUTS', `input ${name} of launch plan ${where} is required`, { id: name });
    }
  }
  for (const [name, literal] of Object.entries(fixed)) out.literals[name] = literal;
  return out;
}
