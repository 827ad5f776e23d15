import { create } from '@bufbuild/protobuf';
import { idl } from '@flyte-ts/core';
import { describe, expect, it } from 'vitest';
import { entityKey, taskExecutionKey } from '../src/keys.js';

describe('entity keys', () => {
  it('follow changes made to the same id object', () => {
    const id = create(idl.core.IdentifierSchema, { project: 'p', domain: 'd', name: 't', version: 'v1' });
    const first = entityKey(id);
    expect(entityKey(id)).toBe(first);
    id.version = 'v2';
    expect(entityKey(id)).not.toBe(first);
    expect(entityKey(id)).toBe(entityKey(create(idl.core.IdentifierSchema, { ...id })));
    expect(taskExecutionKey('n0', 1, id)).not.toBe(taskExecutionKey('n0', 1, { ...id, version: 'v1' }));
  });
});
