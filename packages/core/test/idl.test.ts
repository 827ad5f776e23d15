import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { idl } from '@flyte-ts/core';

describe('the idl namespace', () => {
  it('exposes the messages and schemas of every generated package', () => {
    expect(idl.core.TaskTemplateSchema.typeName).toBe('flyteidl.core.TaskTemplate');
    expect(idl.core.WorkflowClosureSchema.typeName).toBe('flyteidl.core.WorkflowClosure');
    expect(idl.core.CompiledWorkflowClosureSchema.typeName).toBe('flyteidl.core.CompiledWorkflowClosure');
    expect(idl.admin.TaskSpecSchema.typeName).toBe('flyteidl.admin.TaskSpec');
    expect(idl.admin.LaunchPlanSpecSchema.typeName).toBe('flyteidl.admin.LaunchPlanSpec');
    expect(idl.event.NodeExecutionEventSchema.typeName).toBe('flyteidl.event.NodeExecutionEvent');
    expect(idl.plugins.SparkJobSchema.typeName).toBe('flyteidl.plugins.SparkJob');
    expect(idl.plugins.QuboleHiveJobSchema.typeName).toBe('flyteidl.plugins.QuboleHiveJob');
    expect(idl.plugins.ArrayJobSchema.typeName).toBe('flyteidl.plugins.ArrayJob');
    expect(idl.plugins.kubeflow.DistributedPyTorchTrainingTaskSchema.typeName).toBe(
      'flyteidl.plugins.kubeflow.DistributedPyTorchTrainingTask',
    );
    expect(idl.datacatalog.DatasetIDSchema.typeName).toBe('datacatalog.DatasetID');
    expect(idl.cacheservice.CachedOutputSchema.typeName).toBe('flyteidl.cacheservice.CachedOutput');
    expect(idl.wkt.TimestampSchema.typeName).toBe('google.protobuf.Timestamp');
  });

  it('round-trips messages through the wire format', () => {
    const template = create(idl.core.TaskTemplateSchema, {
      id: { resourceType: idl.core.ResourceType.TASK, project: 'p', domain: 'd', name: 'n', version: 'v' },
      type: 'container',
      target: { case: 'container', value: { image: 'img', args: ['a', 'b'] } },
    });
    const decoded = fromBinary(idl.core.TaskTemplateSchema, toBinary(idl.core.TaskTemplateSchema, template));
    expect(decoded).toEqual(template);
  });
});
