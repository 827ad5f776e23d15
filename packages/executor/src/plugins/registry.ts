// PluginRegistry: which plugin runs which task type. Unknown task types are rejected at launch, with the list
// of types this engine can run.
import type { TaskPlugin } from '@flyte-ts/core';
import { ExecutorError } from '../errors.js';

/** Task plugins by task type. */
export class PluginRegistry {
  private readonly byType = new Map<string, TaskPlugin>();

  /**
   * @param plugins the plugins; a task type claimed by two plugins is an error
   * @throws {TypeError} when two plugins claim one task type
   */
  constructor(plugins: readonly TaskPlugin[]) {
    for (const plugin of plugins) {
      for (const type of plugin.taskTypes) {
        const other = this.byType.get(type);
        if (other !== undefined && other !== plugin) {
          throw new TypeError(`task type ${type} is claimed by plugins ${other.id} and ${plugin.id}`);
        }
        this.byType.set(type, plugin);
      }
    }
  }

  /** The plugin of a task type, or undefined. */
  find(taskType: string): TaskPlugin | undefined {
    return this.byType.get(taskType);
  }

  /**
   * The plugin of a task type.
   * @throws {ExecutorError} `UNSUPPORTED_TASK_TYPE` naming the type and the supported ones.
   */
  get(taskType: string, taskName: string): TaskPlugin {
    const plugin = this.byType.get(taskType);
    if (plugin === undefined) {
      throw new ExecutorError(
        'UNSUPPORTED_TASK_TYPE',
        `task ${taskName} has type ${JSON.stringify(taskType)}, which no plugin of this engine runs (supported: ${[
          ...this.byType.keys(),
        ]
          .sort()
          .join(', ')})`,
        { id: taskName },
      );
    }
    return plugin;
  }

  /** Every supported task type. */
  types(): string[] {
    return [...this.byType.keys()].sort();
  }

  /** Every plugin, once. */
  plugins(): TaskPlugin[] {
    return [...new Set(this.byType.values())];
  }
}
