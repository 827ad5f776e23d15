// The default SecretProvider: secrets from environment variables `FLYTE_SECRET_<GROUP>_<KEY>` (upper case,
// non-alphanumerics as `_`), the convention flytekit uses for secrets injected as environment variables.
import { NotFoundError, type idl, type SecretProvider } from '@flyte-ts/core';

/** Reads secrets from the environment. */
export class EnvironmentSecrets implements SecretProvider {
  private readonly env: { readonly [name: string]: string | undefined };

  /** @param env the environment (default `process.env`) */
  constructor(env: { readonly [name: string]: string | undefined } = process.env) {
    this.env = env;
  }

  /** @inheritDoc */
  async get(secret: idl.core.Secret): Promise<string> {
    const part = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    const name = `FLYTE_SECRET_${part(secret.group)}${secret.key === '' ? '' : `_${part(secret.key)}`}`;
    const value = this.env[name];
    if (value === undefined) {
      throw new NotFoundError(`secret ${secret.group}/${secret.key} is not set (environment variable ${name})`, {
        id: `${secret.group}/${secret.key}`,
      });
    }
    return value;
  }
}
