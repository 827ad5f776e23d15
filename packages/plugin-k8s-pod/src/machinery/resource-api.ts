// The few operations the machinery needs on one kind of Kubernetes object, so that pods, custom objects
// (SparkApplication, ...) and tests share one plugin implementation.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1ObjectMeta,
  type V1Pod,
} from '@kubernetes/client-node';

/** A Kubernetes object: anything with object metadata. */
export interface K8sObject {
  /** Standard object metadata. */
  metadata?: V1ObjectMeta | undefined;
}

/** A page of objects and the resource version to watch from. */
export interface K8sObjectList<T extends K8sObject> {
  /** The objects. */
  readonly items: readonly T[];
  /** Resource version of the list. */
  readonly resourceVersion: string;
}

/** Create, read, delete, list and watch one kind of namespaced object in one cluster. */
export interface ResourceApi<T extends K8sObject> {
  /** Kind, for messages and error codes (`Pod`). */
  readonly kind: string;
  /** Creates the object; rejects an `ApiException` with code 409 when it exists. */
  create(namespace: string, object: T): Promise<T>;
  /** Reads the object, or `undefined` when it does not exist. */
  get(namespace: string, name: string): Promise<T | undefined>;
  /** Deletes the object; resolves when it does not exist. */
  delete(namespace: string, name: string): Promise<void>;
  /** Lists the objects matching a label selector. */
  list(namespace: string, labelSelector: string): Promise<K8sObjectList<T>>;
  /** API path watched for the namespace (`/api/v1/namespaces/ns/pods`). */
  watchPath(namespace: string): string;
  /**
   * Converts an object as a watch event carries it (plain JSON) into the shape `get` returns. Timestamps may
   * stay ISO strings: handlers read them through `new Date(...)`.
   */
  fromWatch(raw: unknown): T;
}

/** Whether an error is a Kubernetes API error with this HTTP status code. */
export function isApiError(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

/** The `message` of a Kubernetes API error's Status body, or the error's own message. */
export function apiErrorMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = error.body;
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        if (typeof parsed.message === 'string') return parsed.message;
      } catch {
        // not JSON: fall through
      }
    }
    return `HTTP ${error.code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Pods through the CoreV1 API. */
export function podApi(kubeConfig: KubeConfig): ResourceApi<V1Pod> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    kind: 'Pod',
    create: (namespace, body) => core.createNamespacedPod({ namespace, body }),
    get: async (namespace, name) => {
      try {
        return await core.readNamespacedPod({ namespace, name });
      } catch (error) {
        if (isApiError(error, 404)) return undefined;
        throw error;
      }
    },
    delete: async (namespace, name) => {
      try {
        await core.deleteNamespacedPod({ namespace, name });
      } catch (error) {
        if (!isApiError(error, 404)) throw error;
      }
    },
    list: async (namespace, labelSelector) => {
      const list = await core.listNamespacedPod({ namespace, labelSelector });
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
    watchPath: (namespace) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
    fromWatch: (raw) => raw as V1Pod,
  };
}

/** A kind of namespaced custom object: API group, version, plural resource name and kind. */
export interface CustomObjectKind {
  /** API group (`sparkoperator.k8s.io`). */
  readonly group: string;
  /** API version (`v1beta2`). */
  readonly version: string;
  /** Plural resource name (`sparkapplications`). */
  readonly plural: string;
  /** Kind (`SparkApplication`), for messages and error codes. */
  readonly kind: string;
}

/**
 * Namespaced custom objects of one kind through the CustomObjects API (`/apis/{group}/{version}/namespaces/{ns}/
 * {plural}`). The client returns custom objects as plain JSON, which is what `T` describes.
 */
export function customObjectApi<T extends K8sObject>(kubeConfig: KubeConfig, kind: CustomObjectKind): ResourceApi<T> {
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = kind;
  return {
    kind: kind.kind,
    create: async (namespace, body) =>
      (await custom.createNamespacedCustomObject({ group, version, namespace, plural, body })) as T,
    get: async (namespace, name) => {
      try {
        return (await custom.getNamespacedCustomObject({ group, version, namespace, plural, name })) as T;
      } catch (error) {
        if (isApiError(error, 404)) return undefined;
        throw error;
      }
    },
    delete: async (namespace, name) => {
      try {
        await custom.deleteNamespacedCustomObject({ group, version, namespace, plural, name });
      } catch (error) {
        if (!isApiError(error, 404)) throw error;
      }
    },
    list: async (namespace, labelSelector) => {
      const list = (await custom.listNamespacedCustomObject({ group, version, namespace, plural, labelSelector })) as {
        items?: T[];
        metadata?: { resourceVersion?: string };
      };
      return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
    watchPath: (namespace) =>
      `/apis/${encodeURIComponent(group)}/${encodeURIComponent(version)}/namespaces/${encodeURIComponent(namespace)}/${encodeURIComponent(plural)}`,
    fromWatch: (raw) => raw as T,
  };
}
