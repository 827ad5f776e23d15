// The pod plugin: `container` tasks (TaskTemplate.container) as Kubernetes pods, on the generic machinery.
import { create, fromBinary, toBinary, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { idl, type TaskContext } from '@flyte-ts/core';
import type {
  V1Container,
  V1EnvVar,
  V1Pod,
  V1PodSpec,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { K8sCluster } from '../machinery/cluster.js';
import { podApi } from '../machinery/resource-api.js';
import {
  K8sBuildError,
  K8sResourcePlugin,
  type K8sResourceHandler,
  type K8sResourcePluginOptions,
  type K8sResourceStatus,
  type K8sTarget,
} from '../machinery/resource-plugin.js';
import { podStatus, type PodStatusOptions } from './pod-status.js';

/** Task type of container tasks. */
export const CONTAINER_TASK_TYPE = 'container';
/** Task type of pod tasks with a primary container and sidecars (flytekit's `Pod` tasks). */
export const SIDECAR_TASK_TYPE = 'sidecar';
/** Task type of pod tasks (TaskTemplate.k8s_pod). */
export const POD_TASK_TYPE = 'pod';
/** TaskTemplate.config key (and pod annotation) naming the container whose end decides the task's. */
export const PRIMARY_CONTAINER_KEY = 'primary_container_name';
/** Directory under which secrets requested as files are mounted: `<dir>/<group>/<key>` (as Flyte). */
export const SECRET_FILE_DIR = '/etc/flyte/secrets';

/** A log link template; `{{.podName}}`, `{{.namespace}}`, `{{.containerName}}`, `{{.podUID}}` are substituted. */
export interface LogLinkTemplate {
  /** Link name shown to users (`Kubernetes Logs`). */
  readonly name: string;
  /** URI template. */
  readonly uri: string;
}

/** Options of {@link createPodPlugin}. */
export interface PodPluginOptions
  extends
    Partial<PodStatusOptions>,
    Pick<
      K8sResourcePluginOptions<V1Pod>,
      | 'namespace'
      | 'clusterLabelKey'
      | 'quota'
      | 'pendingTimeoutMs'
      | 'deleteOnFinalize'
      | 'watch'
      | 'resyncMs'
      | 'pollMs'
      | 'watchedPollMs'
      | 'onError'
    > {
  /** Clusters to run pods on. */
  readonly clusters: readonly K8sCluster[];
  /** Plugin id (default `k8s-pod`). */
  readonly id?: string;
  /** Task types (default `['container', 'sidecar', 'pod']`). */
  readonly taskTypes?: readonly string[];
  /**
   * How a secret whose mount requirement is ANY (the default of a task's `secrets`) is injected: `env` (default)
   * as `_FSEC_<GROUP>_<KEY>`, or `file` under {@link SECRET_FILE_DIR}, which is what Flyte's Kubernetes secret
   * webhook does with ANY. ENV_VAR and FILE requirements are always honoured.
   */
  readonly anySecretMount?: 'env' | 'file';
  /** Service account of pods whose execution names none. */
  readonly defaultServiceAccount?: string;
  /** Annotation carrying the execution's IAM role (default `iam.amazonaws.com/role`). */
  readonly iamRoleAnnotation?: string;
  /** Tolerations of interruptible tasks. */
  readonly interruptibleTolerations?: readonly V1Toleration[];
  /** Node selector of interruptible tasks. */
  readonly interruptibleNodeSelector?: { readonly [key: string]: string };
  /** Environment of every pod (below the task's and the execution's). */
  readonly defaultEnv?: { readonly [key: string]: string };
  /** Extended resource name of GPUs (default `nvidia.com/gpu`). */
  readonly gpuResourceName?: string;
  /** Log links. */
  readonly logLinks?: readonly LogLinkTemplate[];
  /**
   * Image of the copilot containers of raw-container tasks (TaskTemplate.container.data_config enabled): an image
   * whose `flyte-ts-execute` runs this package's entrypoint with the blob-store adapters the URIs need. Required
   * by such tasks only.
   */
  readonly copilotImage?: string;
  /** How often the copilot uploader polls the pod for the primary container's end (ms, default 1000). */
  readonly copilotPollMs?: number;
  /** How long the copilot uploader waits for the primary container to start (ms, default 100 000). */
  readonly copilotStartTimeoutMs?: number;
}

/** Name of the init container that writes a raw container's inputs as files (Flyte's copilot downloader). */
export const COPILOT_DOWNLOADER_NAME = 'flyte-copilot-downloader';
/** Name of the sidecar that reads a raw container's output files back (Flyte's copilot sidecar). */
export const COPILOT_UPLOADER_NAME = 'flyte-copilot-sidecar';
/** Default input directory of raw containers (as Flyte's copilot). */
export const COPILOT_DEFAULT_INPUT_PATH = '/var/flyte/inputs';
/** Default output directory of raw containers (as Flyte's copilot). */
export const COPILOT_DEFAULT_OUTPUT_PATH = '/var/flyte/outputs';

/** Env var prefix under which secrets are injected (flytekit reads `_FSEC_<GROUP>_<KEY>`). */
export const SECRET_ENV_PREFIX = '_FSEC_';

const RESOURCE_NAMES: Partial<Record<idl.core.Resources_ResourceName, string>> = {
  [idl.core.Resources_ResourceName.CPU]: 'cpu',
  [idl.core.Resources_ResourceName.MEMORY]: 'memory',
  [idl.core.Resources_ResourceName.EPHEMERAL_STORAGE]: 'ephemeral-storage',
};

/** The handler of pods: builds the pod of a container task and reads its status. */
export class PodHandler implements K8sResourceHandler<V1Pod> {
  private readonly statusOptions: PodStatusOptions;

  /** @param options the plugin's options */
  constructor(private readonly options: PodPluginOptions) {
    this.statusOptions = {
      imagePullBackoffGraceMs: options.imagePullBackoffGraceMs ?? 180_000,
      createContainerErrorGraceMs: options.createContainerErrorGraceMs ?? 180_000,
      createContainerConfigErrorGraceMs: options.createContainerConfigErrorGraceMs ?? 180_000,
    };
  }

  api(cluster: K8sCluster): ReturnType<typeof podApi> {
    return podApi(cluster.kubeConfig);
  }

  async build(ctx: TaskContext, target: K8sTarget): Promise<V1Pod> {
    const template = ctx.template;
    const md = ctx.metadata;
    const id = md.id;
    const { spec, primary, labels, annotations } = podSpecOf(ctx, target.name);
    const copilot = this.copilot(ctx, spec, primary, target);
    // The environment every container gets (below each container's own variables), and the secrets.
    const env: Record<string, V1EnvVar> = {};
    const put = (name: string, value: string) => (env[name] = { name, value });
    for (const [k, v] of Object.entries(this.options.defaultEnv ?? {})) put(k, v);
    put('FLYTE_INTERNAL_EXECUTION_ID', md.execution.name);
    put('FLYTE_INTERNAL_EXECUTION_PROJECT', md.execution.project);
    put('FLYTE_INTERNAL_EXECUTION_DOMAIN', md.execution.domain);
    put('FLYTE_INTERNAL_TASK_PROJECT', template.id?.project ?? '');
    put('FLYTE_INTERNAL_TASK_DOMAIN', template.id?.domain ?? '');
    put('FLYTE_INTERNAL_TASK_NAME', template.id?.name ?? '');
    put('FLYTE_INTERNAL_TASK_VERSION', template.id?.version ?? '');
    put('FLYTE_ATTEMPT_NUMBER', String(md.attempt));
    const secrets = this.secrets(ctx);
    const containers: V1Container[] = (spec.containers ?? []).map((c) => {
      const own: Record<string, V1EnvVar> = { ...env };
      for (const variable of c.env ?? []) own[variable.name] = variable;
      for (const [k, v] of Object.entries(md.environment)) own[k] = { name: k, value: v };
      for (const variable of secrets.env) own[variable.name] = variable;
      const isPrimary = c.name === primary;
      const image = isPrimary ? ctx.metadata.overrides?.containerImage || c.image : c.image;
      const resources = isPrimary ? this.resources(ctx) : {};
      return {
        ...c,
        ...(image === undefined ? {} : { image }),
        ...(c.command === undefined ? {} : { command: c.command.map((a) => substitute(a, ctx)) }),
        ...(c.args === undefined ? {} : { args: c.args.map((a) => substitute(a, ctx)) }),
        env: Object.values(own),
        resources: {
          ...c.resources,
          ...(resources.requests === undefined
            ? {}
            : { requests: { ...c.resources?.requests, ...resources.requests } }),
          ...(resources.limits === undefined ? {} : { limits: { ...c.resources?.limits, ...resources.limits } }),
        },
        ...(secrets.mounts.length === 0 ? {} : { volumeMounts: [...(c.volumeMounts ?? []), ...secrets.mounts] }),
        terminationMessagePolicy: c.terminationMessagePolicy ?? 'FallbackToLogsOnError',
      } satisfies V1Container;
    });
    // Init containers get the secrets too (as Flyte's webhook does), nothing else.
    const userInitContainers = spec.initContainers?.map((c) => ({
      ...c,
      env: [...(c.env ?? []), ...secrets.env],
      ...(secrets.mounts.length === 0 ? {} : { volumeMounts: [...(c.volumeMounts ?? []), ...secrets.mounts] }),
    }));
    const copilotInit: V1Container[] = [];
    if (copilot !== undefined) {
      // The copilot containers get the pod's base environment (blob-store settings) and the secrets' variables.
      const copilotEnv = [...Object.values(env), ...secrets.env];
      containers.push({ ...copilot.uploader, env: [...(copilot.uploader.env ?? []), ...copilotEnv] });
      copilotInit.push({ ...copilot.downloader, env: copilotEnv });
    }
    const runAs = md.securityContext?.runAs ?? template.securityContext?.runAs;
    const initContainers =
      userInitContainers === undefined && copilot === undefined
        ? undefined
        : [...(userInitContainers ?? []), ...copilotInit];
    const podAnnotations: Record<string, string> = { ...annotations, ...md.annotations };
    if (runAs?.iamRole !== undefined && runAs.iamRole !== '') {
      podAnnotations[this.options.iamRoleAnnotation ?? 'iam.amazonaws.com/role'] = runAs.iamRole;
    }
    const serviceAccount = runAs?.k8sServiceAccount || spec.serviceAccountName || this.options.defaultServiceAccount;
    const tolerations = [
      ...(spec.tolerations ?? []),
      ...(md.interruptible ? (this.options.interruptibleTolerations ?? []) : []),
    ];
    const nodeSelector = {
      ...spec.nodeSelector,
      ...(md.interruptible ? this.options.interruptibleNodeSelector : {}),
    };
    const volumes = [...(spec.volumes ?? []), ...secrets.volumes, ...(copilot?.volumes ?? [])];
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: target.name,
        namespace: target.namespace,
        labels: {
          ...labels,
          ...md.labels,
          'execution-id': labelValue(md.execution.name),
          'node-id': labelValue(id.nodeExecutionId?.nodeId ?? ''),
          'task-name': labelValue(template.id?.name ?? ''),
          interruptible: String(md.interruptible),
        },
        annotations: { ...podAnnotations, [PRIMARY_CONTAINER_KEY]: primary },
      },
      spec: {
        ...spec,
        // A finished pod must not restart (the task's attempt is over; retries are new pods).
        restartPolicy: 'Never',
        containers,
        ...(initContainers === undefined ? {} : { initContainers }),
        ...(serviceAccount === undefined || serviceAccount === '' ? {} : { serviceAccountName: serviceAccount }),
        ...(tolerations.length === 0 ? {} : { tolerations }),
        ...(Object.keys(nodeSelector).length === 0 ? {} : { nodeSelector }),
        ...(volumes.length === 0 ? {} : { volumes }),
      },
    };
  }

  /**
   * The requested secrets (the task's TaskTemplate.security_context and the execution's) as Flyte's Kubernetes
   * secret injector places them: env vars `_FSEC_<GROUP>_<KEY>` from the secret `<group>`, key `<key>`, or a
   * volume of the secret `<group>` mounted read-only at `/etc/flyte/secrets/<group>`, one file per key.
   */
  private secrets(ctx: TaskContext): { env: V1EnvVar[]; volumes: V1Volume[]; mounts: V1VolumeMount[] } {
    const requested = [
      ...(ctx.template.securityContext?.secrets ?? []),
      ...(ctx.metadata.securityContext?.secrets ?? []),
    ];
    const env = new Map<string, V1EnvVar>();
    const volumes = new Map<string, V1Volume>();
    const mounts = new Map<string, V1VolumeMount>();
    const asFile = (mount: idl.core.Secret_MountType) =>
      mount === idl.core.Secret_MountType.FILE ||
      (mount === idl.core.Secret_MountType.ANY && this.options.anySecretMount === 'file');
    for (const secret of requested) {
      if (secret.group === '' || secret.key === '') {
        throw new K8sBuildError('BadTaskSpecification', 'a Kubernetes secret needs a group (the secret) and a key');
      }
      if (!asFile(secret.mountRequirement)) {
        const name =
          secret.envVar !== ''
            ? secret.envVar
            : `${SECRET_ENV_PREFIX}${secret.group}_${secret.key}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
        env.set(name, { name, valueFrom: { secretKeyRef: { name: secret.group, key: secret.key } } });
        env.set('FLYTE_SECRETS_ENV_PREFIX', { name: 'FLYTE_SECRETS_ENV_PREFIX', value: SECRET_ENV_PREFIX });
        continue;
      }
      // One volume per secret (group), with an item per key requested.
      const volumeName = secretVolumeName(secret.group, secret.groupVersion);
      const item = { key: secret.key, path: secret.key.toLowerCase() };
      const volume = volumes.get(volumeName);
      if (volume === undefined) {
        volumes.set(volumeName, { name: volumeName, secret: { secretName: secret.group, items: [item] } });
      } else if (!volume.secret!.items!.some((i) => i.key === item.key)) {
        volume.secret!.items!.push(item);
      }
      mounts.set(volumeName, {
        name: volumeName,
        mountPath: `${SECRET_FILE_DIR}/${secret.group.toLowerCase()}`,
        readOnly: true,
      });
      env.set('FLYTE_SECRETS_DEFAULT_DIR', { name: 'FLYTE_SECRETS_DEFAULT_DIR', value: SECRET_FILE_DIR });
      env.set('FLYTE_SECRETS_FILE_PREFIX', { name: 'FLYTE_SECRETS_FILE_PREFIX', value: '' });
    }
    return { env: [...env.values()], volumes: [...volumes.values()], mounts: [...mounts.values()] };
  }

  /**
   * Flyte's copilot for a `container` task whose TaskTemplate.container.data_config is enabled: two emptyDir
   * volumes mounted at the input and output paths of the primary container (which stays the user's), an init
   * container writing the inputs there (`flyte-ts-execute copilot-download`) and a sidecar reading the outputs
   * back when the primary has ended (`flyte-ts-execute copilot-upload`, which polls this pod).
   */
  private copilot(
    ctx: TaskContext,
    spec: V1PodSpec,
    primary: string,
    target: K8sTarget,
  ): { downloader: V1Container; uploader: V1Container; volumes: V1Volume[] } | undefined {
    const template = ctx.template;
    if (template.target.case !== 'container' || template.target.value.dataConfig?.enabled !== true) return undefined;
    if (template.type === SIDECAR_TASK_TYPE && template.custom !== undefined) return undefined;
    const config = template.target.value.dataConfig;
    const image = this.options.copilotImage;
    if (image === undefined || image === '') {
      throw new K8sBuildError(
        'CopilotNotConfigured',
        `task ${template.id?.name ?? ''} reads its inputs from files (data_config): set the pod plugin's copilotImage`,
      );
    }
    const inputPath = config.inputPath || COPILOT_DEFAULT_INPUT_PATH;
    const outputPath = config.outputPath || COPILOT_DEFAULT_OUTPUT_PATH;
    const format = idl.core.DataLoadingConfig_LiteralMapFormat[config.format]?.toLowerCase() ?? 'json';
    const inputs = { name: 'flyte-inputs', mountPath: inputPath };
    const outputs = { name: 'flyte-outputs', mountPath: outputPath };
    const main = spec.containers.find((c) => c.name === primary)!;
    main.volumeMounts = [...(main.volumeMounts ?? []), inputs, outputs];
    const iface = Buffer.from(
      toBinary(idl.core.TypedInterfaceSchema, template.interface ?? create(idl.core.TypedInterfaceSchema)),
    ).toString('base64');
    return {
      volumes: [
        { name: inputs.name, emptyDir: {} },
        { name: outputs.name, emptyDir: {} },
      ],
      downloader: {
        name: COPILOT_DOWNLOADER_NAME,
        image,
        command: ['flyte-ts-execute', 'copilot-download'],
        args: ['--inputs', ctx.inputs.inputsUri, '--to', inputPath, '--format', format],
        volumeMounts: [inputs],
        terminationMessagePolicy: 'FallbackToLogsOnError',
      },
      uploader: {
        name: COPILOT_UPLOADER_NAME,
        image,
        command: ['flyte-ts-execute', 'copilot-upload'],
        args: [
          '--from',
          outputPath,
          '--output-prefix',
          ctx.outputs.outputPrefix,
          '--raw-output-data-prefix',
          ctx.outputs.rawOutputPrefix,
          '--interface',
          iface,
          '--pod-name',
          target.name,
          '--namespace',
          target.namespace,
          '--container',
          primary,
          '--poll-ms',
          String(this.options.copilotPollMs ?? 1000),
          '--start-timeout-ms',
          String(this.options.copilotStartTimeoutMs ?? 100_000),
        ],
        volumeMounts: [outputs],
        terminationMessagePolicy: 'FallbackToLogsOnError',
      },
    };
  }

  async status(pod: V1Pod, ctx: TaskContext, target: K8sTarget): Promise<K8sResourceStatus> {
    const primary = pod.metadata?.annotations?.[PRIMARY_CONTAINER_KEY] ?? target.name;
    const status = podStatus(pod, primary, ctx.clock.now(), this.statusOptions);
    const logs = pod.status?.phase === 'Pending' ? undefined : this.logs(pod, target, primary);
    const withLogs = logs === undefined ? status : { ...status, logs };
    if (status.phase === 'success' && pod.spec?.containers.some((c) => c.name === COPILOT_UPLOADER_NAME) === true) {
      // A raw container's outputs exist once the copilot sidecar has read them back: the task waits for it.
      const uploader = pod.status?.containerStatuses?.find((c) => c.name === COPILOT_UPLOADER_NAME);
      const ended = uploader?.state?.terminated;
      if (ended === undefined) return { phase: 'running', reason: 'copilot uploading outputs', ...(logs && { logs }) };
      if (ended.exitCode !== 0) {
        // The uploader could not even write error.pb (storage, the Kubernetes API): the system's failure.
        const message = `[${COPILOT_UPLOADER_NAME}] terminated with exit code (${ended.exitCode}). Message: ${ended.message ?? ''}`;
        return {
          phase: 'retryable-failure',
          reason: `CopilotUploadFailed: ${message}`,
          error: { code: 'CopilotUploadFailed', message, kind: 'system' },
          ...(logs && { logs }),
        };
      }
    }
    // A container that speaks Flyte's contract reports its failure in error.pb (and may still exit 0).
    if (status.phase === 'success' || (status.phase === 'retryable-failure' && status.error?.kind === 'user')) {
      const document = await readErrorDocument(ctx);
      if (document !== undefined) return { ...withLogs, ...document };
    }
    return withLogs;
  }

  private logs(pod: V1Pod, target: K8sTarget, primary: string): idl.core.TaskLog[] {
    const vars: Record<string, string> = {
      podName: target.name,
      namespace: target.namespace,
      containerName: primary,
      podUID: pod.metadata?.uid ?? '',
    };
    return (this.options.logLinks ?? []).map((link) =>
      create(idl.core.TaskLogSchema, {
        name: link.name,
        uri: link.uri.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (whole, key: string) => vars[key] ?? whole),
      }),
    );
  }

  private resources(ctx: TaskContext): { requests?: Record<string, string>; limits?: Record<string, string> } {
    const names = {
      ...RESOURCE_NAMES,
      [idl.core.Resources_ResourceName.GPU]: this.options.gpuResourceName ?? 'nvidia.com/gpu',
    };
    const convert = (entries: readonly idl.core.Resources_ResourceEntry[] | undefined) =>
      Object.fromEntries(
        (entries ?? []).flatMap((e) =>
          names[e.name] === undefined || e.value === '' ? [] : [[names[e.name]!, e.value]],
        ),
      );
    const requests = convert(ctx.metadata.resources?.requests);
    const limits = convert(ctx.metadata.resources?.limits);
    // As Flyte: a limit without a request requests the limit; a request without a limit is its own limit.
    const merged = { requests: { ...limits, ...requests }, limits: { ...requests, ...limits } };
    return Object.keys(merged.requests).length === 0 ? {} : merged;
  }
}

/** A TaskPlugin running `container`, `sidecar` and `pod` tasks as pods. */
export function createPodPlugin(options: PodPluginOptions): K8sResourcePlugin<V1Pod> {
  const { clusters, id, taskTypes, ...rest } = options;
  return new K8sResourcePlugin<V1Pod>({
    ...rest,
    id: id ?? 'k8s-pod',
    taskTypes: taskTypes ?? [CONTAINER_TASK_TYPE, SIDECAR_TASK_TYPE, POD_TASK_TYPE],
    clusters,
    handler: new PodHandler(options),
  });
}

/** Flyte's container-argument templates. */
function substitute(arg: string, ctx: TaskContext): string {
  const values: Record<string, string> = {
    input: ctx.inputs.inputsUri,
    inputprefix: ctx.inputs.inputPrefix,
    outputprefix: ctx.outputs.outputPrefix,
    rawoutputdataprefix: ctx.outputs.rawOutputPrefix,
    checkpointoutputprefix: ctx.outputs.checkpointPrefix,
    prevcheckpointprefix: ctx.outputs.previousCheckpointPrefix ?? '""',
  };
  return arg.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (whole, key: string) => values[key.toLowerCase()] ?? whole);
}

function labelValue(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

async function readErrorDocument(ctx: TaskContext): Promise<Partial<K8sResourceStatus> | undefined> {
  if ((await ctx.blob.head(ctx.outputs.errorUri)) === undefined) return undefined;
  const document = fromBinary(idl.core.ErrorDocumentSchema, await ctx.blob.get(ctx.outputs.errorUri));
  const error = document.error;
  if (error === undefined) return undefined;
  const retryable = error.kind === idl.core.ContainerError_Kind.RECOVERABLE;
  const kind = error.origin === idl.core.ExecutionError_ErrorKind.SYSTEM ? 'system' : 'user';
  return {
    phase: retryable ? 'retryable-failure' : 'permanent-failure',
    reason: `${error.code}: ${error.message}`,
    error: { code: error.code, message: error.message, kind },
  };
}

/**
 * The pod spec of a task, its primary container and the task's own pod labels and annotations, from wherever the
 * task type version puts them (as flyteplugins reads them): TaskTemplate.k8s_pod (pod spec, metadata, primary
 * container in the message or in TaskTemplate.config); for task type `sidecar` with a custom, a version-0
 * custom `{ podSpec, primaryContainerName, labels, annotations }` or a version-1 custom that is the pod spec
 * (primary in the config); else TaskTemplate.container (one container named after the attempt).
 */
function podSpecOf(
  ctx: TaskContext,
  name: string,
): { spec: V1PodSpec; primary: string; labels: Record<string, string>; annotations: Record<string, string> } {
  const template = ctx.template;
  const task = `task ${template.id?.name ?? ''} (type ${template.type})`;
  const bad = (message: string) => new K8sBuildError('BadTaskSpecification', `${task}: ${message}`);
  const legacySidecar = template.type === SIDECAR_TASK_TYPE && template.custom !== undefined;
  if (template.target.case === 'container' && !legacySidecar) {
    const c = template.target.value;
    const image = ctx.metadata.overrides?.containerImage || c.image;
    if (image === '') throw bad('has no image');
    const container: V1Container = {
      name,
      image,
      command: [...c.command],
      args: [...c.args],
      env: c.env.map((kv) => ({ name: kv.key, value: kv.value })),
    };
    return { spec: { containers: [container] }, primary: name, labels: {}, annotations: {} };
  }
  let spec: JsonValue | undefined;
  let primary = template.config[PRIMARY_CONTAINER_KEY];
  let labels: Record<string, string> = {};
  let annotations: Record<string, string> = {};
  if (template.target.case === 'k8sPod') {
    const pod = template.target.value;
    spec = pod.podSpec;
    if (pod.primaryContainerName !== '') primary = pod.primaryContainerName;
    labels = { ...pod.metadata?.labels };
    annotations = { ...pod.metadata?.annotations };
  } else if (legacySidecar && template.taskTypeVersion === 0) {
    const job = template.custom!;
    spec = job['podSpec'];
    if (typeof job['primaryContainerName'] === 'string') primary = job['primaryContainerName'];
    labels = stringMap(job['labels']);
    annotations = stringMap(job['annotations']);
  } else if (legacySidecar) {
    spec = template.custom;
  }
  if (!isObject(spec)) {
    throw bad('has no pod spec: set TaskTemplate.container or TaskTemplate.k8s_pod.pod_spec');
  }
  const containers = spec['containers'];
  if (!Array.isArray(containers) || containers.length === 0) throw bad('its pod spec has no containers');
  if (primary === undefined || primary === '') {
    throw bad(`name the primary container in TaskTemplate.config["${PRIMARY_CONTAINER_KEY}"]`);
  }
  if (!containers.some((c) => isObject(c) && c['name'] === primary)) {
    throw bad(`the primary container ${JSON.stringify(primary)} is not among the pod's containers`);
  }
  // Pod specs are Kubernetes JSON, which is the client's object model.
  return { spec: structuredClone(spec) as unknown as V1PodSpec, primary, labels, annotations };
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: JsonValue | undefined): Record<string, string> {
  if (!isObject(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** The volume of a secret group (the same for every key of the group): lowercase base32, as Flyte names it. */
function secretVolumeName(group: string, version: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = new TextEncoder().encode(`${group}_${version}`);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  // A volume name is a DNS label.
  return out.slice(0, 63);
}
