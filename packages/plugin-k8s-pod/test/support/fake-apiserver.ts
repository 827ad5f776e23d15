// The fake API server lives in src/testing (published as `@flyte-ts/plugin-k8s-pod/testing`); tests import it here.
export * from '../../src/testing/fake-apiserver.js';
