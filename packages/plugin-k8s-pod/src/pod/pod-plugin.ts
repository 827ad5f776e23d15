// The pod plugin: `container` tasks (TaskTemplate.container) as Kubernetes pods, on the generic machinery.
import { create, fromBinary } from '@bufbuild/protobuf';
import { idl, type TaskContext } from '@flyte-ts/core';
import type { V1Container, V1EnvVar, V1Pod, V1Toleration } from '@kubernetes/client-node';
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
  /** Task types (default `['container']`). */
  readonly taskTypes?: readonly string[];
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
}

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
    if (template.target.case !== 'container') {
      throw new K8sBuildError(
        'BadTaskSpecification',
        `task ${template.id?.name ?? ''} of type ${template.type} has no container: set TaskTemplate.container`,
      );
    }
    const spec = template.target.value;
    const image = ctx.metadata.overrides?.containerImage || spec.image;
    if (image === '') throw new K8sBuildError('BadTaskSpecification', `task ${template.id?.name ?? ''} has no image`);
    const md = ctx.metadata;
    const id = md.id;
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
    for (const kv of spec.env) put(kv.key, kv.value);
    for (const [k, v] of Object.entries(md.environment)) put(k, v);
    // The task's own requests (TaskTemplate.security_context) and the execution's.
    const secrets = [...(template.securityContext?.secrets ?? []), ...(md.securityContext?.secrets ?? [])];
    if (secrets.length > 0) put('FLYTE_SECRETS_ENV_PREFIX', SECRET_ENV_PREFIX);
    for (const secret of secrets) {
      if (secret.group === '' || secret.key === '') {
        throw new K8sBuildError('BadTaskSpecification', 'a Kubernetes secret needs a group (the secret) and a key');
      }
      const name = `${SECRET_ENV_PREFIX}${secret.group}_${secret.key}`.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
      env[name] = { name, valueFrom: { secretKeyRef: { name: secret.group, key: secret.key } } };
    }
    const container: V1Container = {
      name: target.name,
      image,
      command: spec.command.map((a) => substitute(a, ctx)),
      args: spec.args.map((a) => substitute(a, ctx)),
      env: Object.values(env),
      resources: this.resources(ctx),
      terminationMessagePolicy: 'FallbackToLogsOnError',
    };
    const runAs = md.securityContext?.runAs ?? template.securityContext?.runAs;
    const annotations: Record<string, string> = { ...md.annotations };
    if (runAs?.iamRole !== undefined && runAs.iamRole !== '') {
      annotations[this.options.iamRoleAnnotation ?? 'iam.amazonaws.com/role'] = runAs.iamRole;
    }
    const serviceAccount = runAs?.k8sServiceAccount || this.options.defaultServiceAccount;
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: target.name,
        namespace: target.namespace,
        labels: {
          ...md.labels,
          'execution-id': labelValue(md.execution.name),
          'node-id': labelValue(id.nodeExecutionId?.nodeId ?? ''),
          'task-name': labelValue(template.id?.name ?? ''),
          interruptible: String(md.interruptible),
        },
        annotations: { ...annotations, primary_container_name: target.name },
      },
      spec: {
        restartPolicy: 'Never',
        containers: [container],
        ...(serviceAccount === undefined || serviceAccount === '' ? {} : { serviceAccountName: serviceAccount }),
        ...(md.interruptible && this.options.interruptibleTolerations !== undefined
          ? { tolerations: [...this.options.interruptibleTolerations] }
          : {}),
        ...(md.interruptible && this.options.interruptibleNodeSelector !== undefined
          ? { nodeSelector: { ...this.options.interruptibleNodeSelector } }
          : {}),
      },
    };
  }

  async status(pod: V1Pod, ctx: TaskContext, target: K8sTarget): Promise<K8sResourceStatus> {
    const status = podStatus(pod, target.name, ctx.clock.now(), this.statusOptions);
    const logs = pod.status?.phase === 'Pending' ? undefined : this.logs(pod, target);
    const withLogs = logs === undefined ? status : { ...status, logs };
    // A container that speaks Flyte's contract reports its failure in error.pb (and may still exit 0).
    if (status.phase === 'success' || (status.phase === 'retryable-failure' && status.error?.kind === 'user')) {
      const document = await readErrorDocument(ctx);
      if (document !== undefined) return { ...withLogs, ...document };
    }
    return withLogs;
  }

  private logs(pod: V1Pod, target: K8sTarget): idl.core.TaskLog[] {
    const vars: Record<string, string> = {
      podName: target.name,
      namespace: target.namespace,
      containerName: target.name,
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

/** A TaskPlugin running `container` tasks as pods. */
export function createPodPlugin(options: PodPluginOptions): K8sResourcePlugin<V1Pod> {
  const { clusters, id, taskTypes, ...rest } = options;
  return new K8sResourcePlugin<V1Pod>({
    ...rest,
    id: id ?? 'k8s-pod',
    taskTypes: taskTypes ?? [CONTAINER_TASK_TYPE],
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
