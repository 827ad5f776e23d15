// How deep values, types and workflows may nest: one limit, chosen so that every record holding them stays
// readable by every protobuf reader (protobuf-es here, Python's upb and C++ runtimes, Go's).

/**
 * The deepest chain of nested messages every protobuf reader decodes with its default settings: protobuf-es
 * (`fromBinary`, `fromJson`: `recursionLimit` 100, counting the top message), Python (upb and C++: 100 below the
 * top message, counting map entries as messages) and Go (10,000). A record is measured the strictest way: the
 * top message and every map entry count, so a record within this depth is readable by all of them.
 */
export const MAX_MESSAGE_DEPTH = 100;

/** Messages one level of nesting adds at most: a branch case (`Node → BranchNode → IfElseBlock → IfBlock → Node`). */
export const MESSAGES_PER_LEVEL = 4;

/**
 * Messages around the levels at most: 10 from a workflow record down to a type of its interface
 * (`Workflow → WorkflowClosure → CompiledWorkflowClosure → CompiledWorkflow → WorkflowTemplate → TypedInterface →
 * VariableMap → entry → Variable → LiteralType`) and 2 below the deepest type (`SchemaType → SchemaColumn`); or 6
 * down to a top-level node, 2 to a binding of it and 4 below the deepest value (`Scalar → Blob → BlobMetadata →
 * BlobType`); or 8 down to a literal (the fixed inputs of a launch plan a workflow closure calls) and 4 below it.
 * Measured, the top-level literal sits at 6 in an execution's outputs, 5 in node and task executions, 4 in events,
 * 6 in a launch plan's defaults, 3 in `inputs.pb`; a type at 10 in a workflow, 9 in a task, 7 in a launch plan.
 */
export const MESSAGES_AROUND_LEVELS = 12;

/**
 * The most levels a value, a type or a workflow may nest; deeper ones are refused with `NESTING_TOO_DEEP` where
 * they enter (literal conversion and checks, registration, execution inputs, task outputs, signals, the Store).
 *
 * What counts as one level:
 * - in a value: a list, a map, a union value, and each object or array of a struct (`{a: {b: [1]}}` is 3);
 * - in a type: a list, map or union type, the columns of a structured dataset, the fields of a dataclass, and
 *   each object or array of a type's metadata or annotation;
 * - in a workflow: a branch around a node (each case and the else are one level deeper), a map task's node,
 *   each `and`/`or` of a condition.
 *
 * Levels add up along a path: a constant bound by a node inside 3 nested branches may itself nest 17 levels,
 * a condition of a branch inside 19 branches may hold one `and`.
 *
 * Derivation: a level adds at most `MESSAGES_PER_LEVEL` (4) nested messages and at most
 * `MESSAGES_AROUND_LEVELS` (12) surround them, so the deepest record holding something 20 levels deep is
 * 12 + 20 × 4 = 92 messages deep, within {@link MAX_MESSAGE_DEPTH} (100) with 8 to spare for what Flyte may put
 * around our records (Python's reader, counting map entries, is the strictest).
 */
export const MAX_NESTING_DEPTH = 20;
