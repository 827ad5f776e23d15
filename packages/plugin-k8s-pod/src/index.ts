// @flyte-ts/plugin-k8s-pod: container tasks as Kubernetes pods, and the Kubernetes-resource plugin machinery
// other Kubernetes plugins (Spark, ...) build on.
export { kubeConfigFor, NoClusterError, selectCluster, type K8sCluster } from './machinery/cluster.js';
export {
  apiErrorMessage,
  customObjectApi,
  isApiError,
  podApi,
  type CustomObjectKind,
  type K8sObject,
  type K8sObjectList,
  type ResourceApi,
} from './machinery/resource-api.js';
export {
  K8sBuildError,
  K8sResourcePlugin,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  type K8sQuota,
  type K8sResourceHandler,
  type K8sResourcePluginOptions,
  type K8sResourceState,
  type K8sResourceStatus,
  type K8sTarget,
} from './machinery/resource-plugin.js';
export { ResourceWatcher, type ResourceWatcherOptions } from './machinery/resource-watcher.js';
export {
  CONTAINER_TASK_TYPE,
  COPILOT_DEFAULT_INPUT_PATH,
  COPILOT_DEFAULT_OUTPUT_PATH,
  COPILOT_DOWNLOADER_NAME,
  COPILOT_UPLOADER_NAME,
  createPodPlugin,
  PodHandler,
  POD_TASK_TYPE,
  PRIMARY_CONTAINER_KEY,
  SECRET_ENV_PREFIX,
  SECRET_FILE_DIR,
  SIDECAR_TASK_TYPE,
  type LogLinkTemplate,
  type PodPluginOptions,
} from './pod/pod-plugin.js';
export { INTERRUPTED, OOM_KILLED, podStatus, type PodStatusOptions } from './pod/pod-status.js';
