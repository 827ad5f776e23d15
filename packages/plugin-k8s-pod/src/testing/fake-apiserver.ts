// A fake Kubernetes API server on node:http for tests and examples: namespaced pods and custom objects (create,
// get, list, delete, watch with resource versions, 409 on duplicates, 410 Gone on expired watches), secrets
// (read), and simulated lifecycles — pods driven by the test or by running the pod's primary container command as
// a local process, custom objects' status set by the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** A pod as the fake stores it: plain Kubernetes JSON. */
export interface FakePod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  spec: {
    containers: FakeContainer[];
    initContainers?: FakeContainer[];
    volumes?: { name: string; emptyDir?: object; [key: string]: unknown }[];
    [key: string]: unknown;
  };
  status: Record<string, unknown>;
}

/** A container of a {@link FakePod}: plain Kubernetes JSON. */
export interface FakeContainer {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
  }[];
  volumeMounts?: { name: string; mountPath: string; [key: string]: unknown }[];
  [key: string]: unknown;
}

/** A namespaced custom object as the fake stores it: plain Kubernetes JSON (`apiVersion` is `group/version`). */
export interface FakeCustomObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  spec?: unknown;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A kind of custom object: its API group, version and plural resource name (`example.com`, `v1`, `widgets`). */
export interface CustomResource {
  /** API group (`sparkoperator.k8s.io`). */
  readonly group: string;
  /** API version (`v1beta2`). */
  readonly version: string;
  /** Plural resource name (`sparkapplications`). */
  readonly plural: string;
}

/** Anything the fake stores: pods and custom objects. */
type FakeObject = FakePod | FakeCustomObject;

/** Resource key of pods in the fake's stores and events (custom objects use `group/version/plural`). */
const PODS = 'pods';

/** What happens to a pod when it is created. */
export type PodScenario =
  /** Stays Pending until the test moves it (the default when processes are off). */
  | { readonly kind: 'manual' }
  /**
   * Runs the pod's init containers one after the other, then the primary container's command (the one the
   * `primary_container_name` annotation names, else the first) as local processes: Pending while initializing
   * (Failed when an init container fails), Running, then Succeeded or Failed. A sidecar (another container)
   * whose program is one of the `binaries` runs as a process alongside the primary; the other sidecars are
   * reported running until the test ends them with {@link FakeApiServer.terminateContainer}. Volumes: each
   * emptyDir volume is a directory of the pod's, and a container's mount paths of emptyDir volumes are replaced
   * by that directory in its command, args and env values (processes share the host's filesystem; a mount path
   * is replaced wherever it occurs as a substring). `valueFrom.fieldRef` of `metadata.name` and
   * `metadata.namespace` is resolved (the downward API), and `KUBECONFIG` points at this server (standing in for
   * the service account a real pod's in-cluster configuration uses).
   */
  | { readonly kind: 'process' };

/** Options of {@link FakeApiServer.start}. */
export interface FakeApiServerOptions {
  /** Run pods' commands as local processes (default: pods stay Pending until the test moves them). */
  readonly runProcesses?: boolean;
  /** Per-pod choice, overriding `runProcesses`. */
  readonly scenario?: (pod: FakePod) => PodScenario;
  /** Working directory of pod processes. */
  readonly cwd?: string;
  /**
   * Programs the simulated images provide: a command whose first word is a key runs the mapped argv instead
   * (e.g. `flyte-ts-execute` → `node ... program.ts`).
   */
  readonly binaries?: { readonly [name: string]: readonly string[] };
}

interface WatchClient {
  readonly resource: string;
  readonly namespace: string;
  readonly selector: Record<string, string>;
  readonly res: ServerResponse;
}

interface Event {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly resource: string;
  readonly object: FakeObject;
}

/** The fake API server. Start it with {@link FakeApiServer.start}; close it in `afterEach`/`afterAll`. */
export class FakeApiServer {
  /** Pods by `namespace/name`. */
  readonly pods = new Map<string, FakePod>();
  /** Custom objects by resource (`group/version/plural`), then by `namespace/name`. */
  readonly customObjects = new Map<string, Map<string, FakeCustomObject>>();
  /** Secrets by `namespace/name`: key → value. */
  readonly secrets = new Map<string, Record<string, string>>();
  /** Every request, as `METHOD path` (query string excluded). */
  readonly requests: string[] = [];
  /** Output of pod processes: the primary's by pod key (`namespace/name`), other containers' by `namespace/name:container`. */
  readonly logs = new Map<string, string>();
  /** Number of list requests of pods (not watches). */
  lists = 0;
  /** Number of pods created (a duplicate create that got 409 does not count). */
  created = 0;
  /** Most pods that existed at once. */
  peak = 0;

  private rv = 1;
  private history: Event[] = [];
  /** Events at or below this resource version are compacted away (watches from there get 410 Gone). */
  private compactedTo = 0;
  private readonly watches = new Set<WatchClient>();
  /** Running processes by pod key, then container name. */
  private readonly processes = new Map<string, Map<string, ChildProcess>>();
  private uid = 0;
  /** Fail the next requests matching these, with the status code. */
  private readonly faults: { method: string; pattern: RegExp; code: number }[] = [];

  /** Directory of the pods' emptyDir volumes and of the kubeconfig the processes get. */
  private readonly workDir = mkdtempSync(join(tmpdir(), 'flyte-fake-k8s-'));

  private constructor(
    private readonly server: Server,
    private readonly options: FakeApiServerOptions,
  ) {}

  /** Starts a server on 127.0.0.1 on a free port. */
  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const server = createServer();
    const fake = new FakeApiServer(server, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      fake.route(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, status(500, 'InternalError', String(error)));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    writeFileSync(
      fake.kubeConfigPath,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: fake.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'tester', user: { token: 'fake-token' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'tester' } }],
        'current-context': 'fake',
      }),
    );
    return fake;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A kubeconfig file pointing at this server (the `KUBECONFIG` of pod processes). */
  get kubeConfigPath(): string {
    return join(this.workDir, 'kubeconfig');
  }

  /** A KubeConfig for the real client pointing at this server. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'tester', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'tester' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Stops the server, its watches and every pod process. */
  async close(): Promise<void> {
    for (const children of this.processes.values()) for (const child of children.values()) child.kill('SIGKILL');
    this.processes.clear();
    for (const watch of this.watches) watch.res.end();
    this.watches.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.workDir, { recursive: true, force: true });
  }

  /** A pod by namespace and name. */
  pod(namespace: string, name: string): FakePod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  /** Stores a secret the pods of `namespace` can reference. */
  addSecret(namespace: string, name: string, data: Record<string, string>): void {
    this.secrets.set(`${namespace}/${name}`, data);
  }

  /** Makes the next request of `method` whose path matches `pattern` fail with `code`. */
  failNext(method: string, pattern: RegExp, code: number): void {
    this.faults.push({ method, pattern, code });
  }

  /** Drops the event history: watches resuming from an older resource version get 410 Gone. */
  compact(): void {
    this.compactedTo = this.rv;
    this.history = [];
  }

  /** Ends every open watch with a 410 Gone error event (as an API server does when its cache expires). */
  expireWatches(): void {
    this.compact();
    for (const watch of this.watches) {
      watch.res.end(
        `${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version') })}\n`,
      );
    }
    this.watches.clear();
  }

  /** Moves a pod to Running with its containers running. */
  markRunning(namespace: string, name: string): void {
    this.update(namespace, name, (pod) => {
      pod.status = {
        phase: 'Running',
        startTime: now(),
        conditions: [condition('PodScheduled', 'True'), condition('Ready', 'True')],
        containerStatuses: pod.spec.containers.map((c) => ({
          name: c.name,
          image: c.image ?? '',
          imageID: '',
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: now() } },
        })),
      };
    });
  }

  /** Keeps a pod Pending with its containers waiting for `reason` (ImagePullBackOff, ...). */
  setWaiting(namespace: string, name: string, reason: string, message = ''): void {
    this.update(namespace, name, (pod) => {
      pod.status = {
        phase: 'Pending',
        conditions: [
          condition('PodScheduled', 'True'),
          condition(
            'Ready',
            'False',
            'ContainersNotReady',
            `containers with unready status: [${pod.spec.containers[0]!.name}]`,
          ),
        ],
        containerStatuses: pod.spec.containers.map((c) => ({
          name: c.name,
          image: c.image ?? '',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { waiting: { reason, message } },
        })),
      };
    });
  }

  /** Keeps a pod Pending and unschedulable. */
  setUnschedulable(namespace: string, name: string, message: string): void {
    this.update(namespace, name, (pod) => {
      pod.status = { phase: 'Pending', conditions: [condition('PodScheduled', 'False', 'Unschedulable', message)] };
    });
  }

  /** Ends a pod's primary container: `Succeeded` for exit code 0 (and no reason given), `Failed` otherwise. */
  terminate(
    namespace: string,
    name: string,
    terminated: { exitCode: number; reason?: string; message?: string },
    podPhase?: 'Succeeded' | 'Failed',
  ): void {
    this.update(namespace, name, (pod) => {
      const phase = podPhase ?? (terminated.exitCode === 0 ? 'Succeeded' : 'Failed');
      pod.status = {
        phase,
        startTime: (pod.status['startTime'] as string | undefined) ?? now(),
        conditions: [condition('PodScheduled', 'True'), condition('Ready', 'False', 'PodCompleted')],
        containerStatuses: pod.spec.containers.map((c) => ({
          name: c.name,
          image: c.image ?? '',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: {
            terminated: {
              exitCode: terminated.exitCode,
              reason: terminated.reason ?? (terminated.exitCode === 0 ? 'Completed' : 'Error'),
              message: terminated.message ?? '',
              startedAt: now(),
              finishedAt: now(),
            },
          },
        })),
      };
    });
  }

  /**
   * Ends one container of a running pod, the others keep their state: the pod stays Running while any container
   * has not terminated, then becomes Succeeded (every exit code 0) or Failed — as the kubelet does with
   * `restartPolicy: Never`.
   */
  terminateContainer(
    namespace: string,
    name: string,
    container: string,
    terminated: { exitCode: number; reason?: string; message?: string },
  ): void {
    this.update(namespace, name, (pod) => {
      const statuses = (pod.status['containerStatuses'] ?? []) as {
        name: string;
        ready: boolean;
        state: { terminated?: { exitCode: number; reason: string; message: string; finishedAt: string } };
      }[];
      const status = statuses.find((c) => c.name === container);
      if (status === undefined) throw new Error(`pod ${namespace}/${name} has no container status ${container}`);
      status.ready = false;
      status.state = {
        terminated: {
          exitCode: terminated.exitCode,
          reason: terminated.reason ?? (terminated.exitCode === 0 ? 'Completed' : 'Error'),
          message: terminated.message ?? '',
          finishedAt: now(),
        },
      };
      const ended = statuses.map((c) => c.state.terminated);
      if (ended.every((t) => t !== undefined)) {
        pod.status['phase'] = ended.every((t) => t.exitCode === 0) ? 'Succeeded' : 'Failed';
        pod.status['conditions'] = [condition('PodScheduled', 'True'), condition('Ready', 'False', 'PodCompleted')];
      }
    });
  }

  /** Evicts a pod (Failed, reason `Evicted`), as the kubelet does under node pressure. */
  evict(namespace: string, name: string, message = 'The node was low on resource: memory.'): void {
    this.kill(namespace, name);
    this.update(namespace, name, (pod) => {
      pod.status = { phase: 'Failed', reason: 'Evicted', message, startTime: now() };
    });
  }

  /** Fails a pod as a node shutting down does (Failed, reason `Shutdown`). */
  shutdownNode(namespace: string, name: string): void {
    this.kill(namespace, name);
    this.update(namespace, name, (pod) => {
      pod.status = {
        phase: 'Failed',
        reason: 'Shutdown',
        message: 'Pod Node is in progress of shutting down, not admitting any new pods',
      };
    });
  }

  /** Deletes a pod behind the plugin's back (as an operator or the node lifecycle controller might). */
  deletePod(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const pod = this.pods.get(key);
    if (pod === undefined) return;
    this.kill(namespace, name);
    this.pods.delete(key);
    pod.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, type: 'DELETED', resource: PODS, object: pod });
  }

  /** A custom object by its resource, namespace and name. */
  customObject(resource: CustomResource, namespace: string, name: string): FakeCustomObject | undefined {
    return this.customObjects.get(resourceKey(resource))?.get(`${namespace}/${name}`);
  }

  /**
   * Replaces a custom object's `status` (as its operator would), bumping its resource version and sending a
   * MODIFIED event to the watches.
   */
  setCustomObjectStatus(
    resource: CustomResource,
    namespace: string,
    name: string,
    status: Record<string, unknown>,
  ): void {
    const object = this.customObject(resource, namespace, name);
    if (object === undefined) throw new Error(`no ${resource.plural} ${namespace}/${name}`);
    object.status = structuredClone(status);
    object.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, type: 'MODIFIED', resource: resourceKey(resource), object: structuredClone(object) });
  }

  /** Deletes a custom object behind the plugin's back (a DELETED event; nothing if it does not exist). */
  deleteCustomObject(resource: CustomResource, namespace: string, name: string): void {
    this.deleteCustom(resourceKey(resource), namespace, name);
  }

  private deleteCustom(resource: string, namespace: string, name: string): FakeCustomObject | undefined {
    const objects = this.customObjects.get(resource);
    const object = objects?.get(`${namespace}/${name}`);
    if (objects === undefined || object === undefined) return undefined;
    objects.delete(`${namespace}/${name}`);
    object.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, type: 'DELETED', resource, object });
    return object;
  }

  private kill(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const children = this.processes.get(key);
    if (children === undefined) return;
    this.processes.delete(key);
    for (const child of children.values()) child.kill('SIGKILL');
  }

  private update(namespace: string, name: string, change: (pod: FakePod) => void): void {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (pod === undefined) throw new Error(`no pod ${namespace}/${name}`);
    change(pod);
    pod.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, type: 'MODIFIED', resource: PODS, object: structuredClone(pod) });
  }

  private emit(event: Event): void {
    this.history.push(event);
    for (const watch of this.watches) {
      if (seenBy(watch, event.resource, event.object)) {
        watch.res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
      }
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    this.requests.push(`${method} ${url.pathname}`);
    const faultAt = this.faults.findIndex((f) => f.method === method && f.pattern.test(url.pathname));
    if (faultAt >= 0) {
      const [fault] = this.faults.splice(faultAt, 1);
      send(res, fault!.code, status(fault!.code, 'InternalError', 'injected failure'));
      return;
    }
    const podMatch = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?$/.exec(url.pathname);
    const secretMatch = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(url.pathname);
    if (secretMatch !== null && method === 'GET') {
      const data = this.secrets.get(`${secretMatch[1]}/${secretMatch[2]}`);
      if (data === undefined) {
        send(res, 404, status(404, 'NotFound', `secrets "${secretMatch[2]}" not found`));
        return;
      }
      send(res, 200, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: secretMatch[2], namespace: secretMatch[1] },
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      });
      return;
    }
    const customMatch = /^\/apis\/([^/]+)\/([^/]+)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname);
    if (customMatch !== null) {
      const [, group, version, namespace, plural, name] = customMatch as unknown as [string, ...string[]];
      return this.routeCustom(req, res, url, { group: group!, version: version!, plural: plural! }, namespace!, name);
    }
    if (podMatch === null) {
      send(res, 404, status(404, 'NotFound', `no route ${method} ${url.pathname}`));
      return;
    }
    const namespace = podMatch[1]!;
    const name = podMatch[2];
    if (name === undefined && method === 'POST') return this.createPod(namespace, await body(req), res);
    if (name === undefined && method === 'GET') {
      const selector = parseSelector(url.searchParams.get('labelSelector'));
      if (url.searchParams.get('watch') === 'true') {
        this.watch(PODS, namespace, selector, url.searchParams.get('resourceVersion'), res);
        return;
      }
      this.lists++;
      const items = [...this.pods.values()].filter((p) => p.metadata.namespace === namespace && matches(p, selector));
      send(res, 200, { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: String(this.rv) }, items });
      return;
    }
    const key = `${namespace}/${name}`;
    const pod = this.pods.get(key);
    if (pod === undefined) {
      send(res, 404, status(404, 'NotFound', `pods "${name}" not found`));
      return;
    }
    if (method === 'GET') {
      send(res, 200, pod);
      return;
    }
    if (method === 'DELETE') {
      this.deletePod(namespace, name!);
      send(res, 200, pod);
      return;
    }
    send(res, 405, status(405, 'MethodNotAllowed', method));
  }

  /** Custom objects: create, get, list, watch and delete, on the pods' code paths. */
  private async routeCustom(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    resource: CustomResource,
    namespace: string,
    name: string | undefined,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const key = resourceKey(resource);
    const objects = this.customObjects.get(key) ?? new Map<string, FakeCustomObject>();
    if (name === undefined && method === 'POST') {
      const object = (await body(req)) as FakeCustomObject;
      const apiVersion = `${resource.group}/${resource.version}`;
      if (object.apiVersion !== apiVersion) {
        const message = `the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${apiVersion})`;
        send(res, 400, status(400, 'BadRequest', message));
        return;
      }
      if (typeof object.kind !== 'string' || object.kind === '') {
        send(res, 400, status(400, 'BadRequest', "Object 'Kind' is missing"));
        return;
      }
      // A DNS subdomain, as custom resources' names are.
      const valid = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
      if (!this.admit(objects, resource.plural, namespace, object, valid, 253, res)) return;
      this.customObjects.set(key, objects);
      this.emit({ rv: this.rv, type: 'ADDED', resource: key, object: structuredClone(object) });
      send(res, 201, object);
      return;
    }
    if (name === undefined && method === 'GET') {
      const selector = parseSelector(url.searchParams.get('labelSelector'));
      if (url.searchParams.get('watch') === 'true') {
        this.watch(key, namespace, selector, url.searchParams.get('resourceVersion'), res);
        return;
      }
      const items = [...objects.values()].filter((o) => o.metadata.namespace === namespace && matches(o, selector));
      const kind = `${items[0]?.kind ?? ''}List`;
      send(res, 200, {
        apiVersion: `${resource.group}/${resource.version}`,
        kind,
        metadata: { resourceVersion: String(this.rv) },
        items,
      });
      return;
    }
    const object = name === undefined ? undefined : objects.get(`${namespace}/${name}`);
    if (name === undefined || object === undefined) {
      send(res, 404, status(404, 'NotFound', `${resource.plural}.${resource.group} "${name ?? ''}" not found`));
      return;
    }
    if (method === 'GET') {
      send(res, 200, object);
      return;
    }
    if (method === 'DELETE') {
      this.deleteCustom(key, namespace, name);
      send(res, 200, object);
      return;
    }
    send(res, 405, status(405, 'MethodNotAllowed', method));
  }

  /**
   * Admits a new object into `objects` (pods or one kind of custom object): 422 for an invalid name, 409 when the
   * name is taken, else sets its server-side metadata (namespace, uid, creation time, resource version) and stores
   * it. Answers the request only when it refuses; the caller emits the ADDED event and answers 201.
   */
  private admit<T extends FakeObject>(
    objects: Map<string, T>,
    plural: string,
    namespace: string,
    object: T,
    valid: RegExp,
    maxLength: number,
    res: ServerResponse,
  ): boolean {
    const name: unknown = object.metadata?.name;
    if (typeof name !== 'string' || !valid.test(name) || name.length > maxLength) {
      send(res, 422, status(422, 'Invalid', `${object.kind} "${String(name)}" is invalid: metadata.name`));
      return false;
    }
    const key = `${namespace}/${name}`;
    if (objects.has(key)) {
      send(res, 409, status(409, 'AlreadyExists', `${plural} "${name}" already exists`));
      return false;
    }
    object.metadata.namespace = namespace;
    object.metadata.uid = `uid-${++this.uid}`;
    object.metadata.creationTimestamp = now();
    object.metadata.resourceVersion = String(++this.rv);
    objects.set(key, object);
    return true;
  }

  private createPod(namespace: string, input: unknown, res: ServerResponse): void {
    const pod = input as FakePod;
    pod.apiVersion = 'v1';
    pod.kind = 'Pod';
    pod.metadata ??= {} as FakePod['metadata'];
    pod.status = { phase: 'Pending', conditions: [condition('PodScheduled', 'True')] };
    if (!this.admit(this.pods, PODS, namespace, pod, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 63, res)) return;
    this.created++;
    this.peak = Math.max(this.peak, this.pods.size);
    this.emit({ rv: this.rv, type: 'ADDED', resource: PODS, object: structuredClone(pod) });
    send(res, 201, pod);
    const scenario = this.options.scenario?.(pod) ?? {
      kind: this.options.runProcesses === true ? 'process' : 'manual',
    };
    if (scenario.kind === 'process') this.run(pod);
  }

  private run(pod: FakePod): void {
    const { namespace, name } = pod.metadata;
    const key = `${namespace}/${name}`;
    const dir = join(this.workDir, `${namespace}.${name}.${pod.metadata.uid}`);
    for (const volume of pod.spec.volumes ?? []) {
      if (volume.emptyDir !== undefined) mkdirSync(join(dir, volume.name), { recursive: true });
    }
    this.processes.set(key, new Map());
    const inits = pod.spec.initContainers ?? [];
    const done: Record<string, unknown>[] = [];
    const next = (index: number): void => {
      if (index === inits.length) {
        this.runContainers(pod, dir);
        return;
      }
      const container = inits[index]!;
      this.initializing(namespace, name, [...done, { name: container.name, state: { running: { startedAt: now() } } }]);
      this.spawnContainer(pod, container, dir, (terminated) => {
        done.push({ name: container.name, ready: false, restartCount: 0, state: { terminated } });
        if (terminated.exitCode === 0) {
          next(index + 1);
          return;
        }
        // restartPolicy Never: a failed init container fails the pod; the app containers never start.
        this.update(namespace, name, (p) => {
          p.status = { ...p.status, phase: 'Failed', initContainerStatuses: done };
        });
      });
    };
    next(0);
  }

  /** Pending while init containers run: their statuses, the app containers waiting in PodInitializing. */
  private initializing(namespace: string, name: string, initStatuses: Record<string, unknown>[]): void {
    this.update(namespace, name, (pod) => {
      pod.status = {
        phase: 'Pending',
        conditions: [
          condition('PodScheduled', 'True'),
          condition('Initialized', 'False', 'ContainersNotInitialized'),
          condition('Ready', 'False', 'ContainersNotReady'),
        ],
        initContainerStatuses: initStatuses,
        containerStatuses: pod.spec.containers.map((c) => ({
          name: c.name,
          image: c.image ?? '',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: 'PodInitializing' } },
        })),
      };
    });
  }

  /** Runs the primary container and the sidecars whose program is one of the `binaries`. */
  private runContainers(pod: FakePod, dir: string): void {
    const { namespace, name } = pod.metadata;
    const primaryName = pod.metadata.annotations?.['primary_container_name'];
    const primary = pod.spec.containers.find((c) => c.name === primaryName) ?? pod.spec.containers[0]!;
    const sidecars = pod.spec.containers.filter(
      (c) => c !== primary && this.options.binaries?.[[...(c.command ?? []), ...(c.args ?? [])][0] ?? ''] !== undefined,
    );
    const many = pod.spec.containers.length > 1;
    let markRunning!: () => void;
    // Containers' ends are applied once the pod is Running (a sidecar may end before the primary has spawned).
    const running = new Promise<void>((resolve) => (markRunning = resolve));
    const end = (container: FakeContainer, terminated: Terminated) =>
      void running.then(() => {
        // The pod may have been deleted or its status replaced (evicted) meanwhile: nothing to end then.
        if (!this.pods.has(`${namespace}/${name}`)) return;
        try {
          if (many) this.terminateContainer(namespace, name, container.name, terminated);
          else this.terminate(namespace, name, terminated);
        } catch {
          // No status of this container any more.
        }
      });
    const started = this.spawnContainer(
      pod,
      primary,
      dir,
      (terminated) => end(primary, terminated),
      () => {
        this.markRunning(namespace, name);
        markRunning();
      },
    );
    if (!started) return;
    for (const sidecar of sidecars) this.spawnContainer(pod, sidecar, dir, (terminated) => end(sidecar, terminated));
  }

  /**
   * Spawns a container's command as a local process; `ended` gets its termination (not called when the pod's
   * processes were killed). Resolves the container's environment first: a missing secret leaves the pod waiting
   * in CreateContainerConfigError, no command in CreateContainerError, a spawn failure in RunContainerError.
   * @returns whether the process was started
   */
  private spawnContainer(
    pod: FakePod,
    container: FakeContainer,
    dir: string,
    ended: (terminated: Terminated) => void,
    spawned?: () => void,
  ): boolean {
    const { namespace, name } = pod.metadata;
    const key = `${namespace}/${name}`;
    const emptyDirs = new Set((pod.spec.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => v.name));
    const mounts = (container.volumeMounts ?? [])
      .filter((m) => emptyDirs.has(m.name))
      .map((m) => [m.mountPath, join(dir, m.name)] as const)
      .sort((a, b) => b[0].length - a[0].length);
    const local = (text: string) => mounts.reduce((t, [from, to]) => t.split(from).join(to), text);
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', KUBECONFIG: this.kubeConfigPath };
    for (const variable of container.env ?? []) {
      const field = variable.valueFrom?.fieldRef?.fieldPath;
      if (field !== undefined) {
        env[variable.name] = field === 'metadata.name' ? name : field === 'metadata.namespace' ? namespace : '';
        continue;
      }
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref === undefined) {
        env[variable.name] = local(variable.value ?? '');
        continue;
      }
      const value = this.secrets.get(`${namespace}/${ref.name}`)?.[ref.key];
      if (value === undefined) {
        // The kubelet cannot start the container: it waits with CreateContainerConfigError.
        this.setWaiting(namespace, name, 'CreateContainerConfigError', `secret "${ref.name}" not found`);
        return false;
      }
      env[variable.name] = value;
    }
    let argv = [...(container.command ?? []), ...(container.args ?? [])].map(local);
    const binary = argv[0] === undefined ? undefined : this.options.binaries?.[argv[0]];
    if (binary !== undefined) argv = [...binary, ...argv.slice(1)];
    if (argv.length === 0) {
      this.setWaiting(namespace, name, 'CreateContainerError', 'no command specified');
      return false;
    }
    const children = this.processes.get(key);
    if (children === undefined) return false;
    const child = spawn(argv[0]!, argv.slice(1), { env, cwd: this.options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    children.set(container.name, child);
    const current = () => this.processes.get(key)?.get(container.name) === child;
    const primary = spawned !== undefined;
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('spawn', () => {
      if (current()) spawned?.();
    });
    child.on('error', (error) => {
      if (!current()) return;
      children.delete(container.name);
      this.setWaiting(namespace, name, 'RunContainerError', error.message);
    });
    child.on('close', (code, signal) => {
      this.logs.set(primary ? key : `${key}:${container.name}`, output);
      if (!current()) return;
      children.delete(container.name);
      const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
      ended({
        exitCode,
        reason: exitCode === 0 ? 'Completed' : 'Error',
        message: output.slice(-1024).trim(),
        finishedAt: now(),
      });
    });
    return true;
  }

  private watch(
    resource: string,
    namespace: string,
    selector: Record<string, string>,
    from: string | null,
    res: ServerResponse,
  ): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    const since = from === null || from === '' ? undefined : Number(from);
    if (since !== undefined && since < this.compactedTo) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version') })}\n`);
      return;
    }
    const client: WatchClient = { resource, namespace, selector, res };
    if (since === undefined) {
      // No resource version: the current state as ADDED events, then changes.
      const current: Iterable<FakeObject> =
        resource === PODS ? this.pods.values() : (this.customObjects.get(resource)?.values() ?? []);
      for (const object of current) {
        if (seenBy(client, resource, object)) res.write(`${JSON.stringify({ type: 'ADDED', object })}\n`);
      }
    } else {
      for (const event of this.history) {
        if (event.rv > since && seenBy(client, event.resource, event.object)) {
          res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
        }
      }
    }
    this.watches.add(client);
    res.on('close', () => this.watches.delete(client));
  }
}

/** A container's termination as the fake reports it. */
interface Terminated {
  exitCode: number;
  reason: string;
  message: string;
  finishedAt: string;
}

function now(): string {
  return new Date().toISOString();
}

function condition(type: string, value: 'True' | 'False', reason?: string, message?: string): Record<string, string> {
  return {
    type,
    status: value,
    lastTransitionTime: now(),
    ...(reason === undefined ? {} : { reason }),
    ...(message === undefined ? {} : { message }),
  };
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function send(res: ServerResponse, code: number, payload: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(payload));
}

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

function parseSelector(text: string | null): Record<string, string> {
  if (text === null || text === '') return {};
  return Object.fromEntries(text.split(',').map((part) => part.split('=') as [string, string]));
}

function matches(object: FakeObject, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => object.metadata.labels?.[k] === v);
}

function seenBy(watch: WatchClient, resource: string, object: FakeObject): boolean {
  return (
    watch.resource === resource && watch.namespace === object.metadata.namespace && matches(object, watch.selector)
  );
}

function resourceKey(resource: CustomResource): string {
  return `${resource.group}/${resource.version}/${resource.plural}`;
}
