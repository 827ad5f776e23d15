// @flyte-ts/plugin-k8s-pod/testing: a fake Kubernetes API server for tests, examples and demos. The real
// `@kubernetes/client-node` talks to it; its pods can run their command as local processes.
import { fileURLToPath } from 'node:url';
import { FakeApiServer, type FakeApiServerOptions } from './fake-apiserver.js';

export {
  FakeApiServer,
  type CustomResource,
  type FakeApiServerOptions,
  type FakeContainer,
  type FakeCustomObject,
  type FakePod,
  type PodScenario,
} from './fake-apiserver.js';

/**
 * Starts a fake Kubernetes API server on 127.0.0.1 on a free port. Give `fake.kubeConfig()` to the plugin's
 * cluster; call `fake.close()` when done (it stops pod processes too).
 * @param options whether and how pods run as local processes
 */
export function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  return FakeApiServer.start(options);
}

/**
 * The command that runs this package's `flyte-ts-execute` bin on this machine, for the fake server's `binaries`
 * (`{ 'flyte-ts-execute': flyteTsExecuteCommand() }`): so pods of TypeScript tasks run them as local processes.
 * Loaded from the TypeScript sources (a monorepo's tests), it runs the bin on them through `tsx` (which must
 * resolve from the pods' working directory) with the `@flyte-ts/source` condition; loaded from the build, on
 * plain Node.
 */
export function flyteTsExecuteCommand(): readonly string[] {
  const bin = fileURLToPath(new URL('../../bin/flyte-ts-execute', import.meta.url));
  return import.meta.url.endsWith('.ts')
    ? [process.execPath, '--conditions=@flyte-ts/source', '--import', 'tsx', bin]
    : [process.execPath, bin];
}
