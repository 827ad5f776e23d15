// The version of @flyte-ts/core, recorded in the runtime metadata of the templates it produces.
import packageJson from '../package.json' with { type: 'json' };

/** Version of @flyte-ts/core. */
export const VERSION: string = packageJson.version;
