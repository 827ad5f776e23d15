// @flyte-ts/compiler: Flyte-conformant compilation of tasks and workflows (flytepropeller's compiler), and
// loading of flytekit-serialized packages. This file is the package's public API.

export { compileTask, type CompileTaskOptions } from './compile-task.js';
export { compileWorkflow } from './compile-workflow.js';
export { getRequirements, type WorkflowRequirements } from './requirements.js';
export { compilePackage, type CompiledPackage, type CompilePackageOptions, type EntityPackage } from './package.js';
export {
  launchPlanInterface,
  launchPlanInterfaceFromSpec,
  toCompiledLaunchPlans,
  type InterfaceProvider,
} from './launch-plans.js';
export { COMPILER_ERROR_CODES, CompileError, type CompileIssue, type CompilerErrorCode } from './errors.js';
export { END_NODE_ID, START_NODE_ID } from './builder.js';
export { compareIdentifiers, identifierText } from './ids.js';
export {
  classifySerializedEntity,
  loadSerializedDirectory,
  loadSerializedEntities,
  UnrecognizedEntityError,
  type LoadedPackage,
  type SerializedEntity,
} from './load.js';
