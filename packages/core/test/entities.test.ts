import { toJson } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  conditional,
  FlyteError,
  FUNCTION_TASK_TYPE,
  idl,
  launchPlan,
  LiteralTypeError,
  or,
  t,
  task,
  VERSION,
  workflow,
} from '@flyte-ts/core';

describe('task → TaskTemplate', () => {
  const fetch = task(
    {
      name: 'demo.fetch',
      inputs: { url: t.string(), retries: t.optional(t.int()), token: t.string() },
      outputs: { body: t.string(), status: t.int() },
      retries: 3,
      timeout: '90s',
      cache: { version: '2', serialize: true, ignoreInputs: ['token'] },
      interruptible: true,
      deprecated: 'use demo.fetch2',
      resources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { memory: '1Gi', gpu: 1 } },
      image: 'registry.local/app:1',
      env: { MODE: 'fast' },
      secrets: [{ group: 'api', key: 'token', mount: 'env' }],
      custom: { plugin: { option: true } },
      config: { primary: 'yes' },
      module: 'app/tasks.js',
    },
    async ({ url }) => ({ body: `GET ${url}`, status: 200 }),
  );

  it('carries every setting', () => {
    const template = toJson(idl.core.TaskTemplateSchema, fetch.template({ project: 'p', domain: 'd', version: '7' }));
    expect(template).toEqual({
      id: { resourceType: 'TASK', project: 'p', domain: 'd', name: 'demo.fetch', version: '7' },
      type: FUNCTION_TASK_TYPE,
      metadata: {
        discoverable: true,
        runtime: { type: 'FLYTE_SDK', version: VERSION, flavor: 'typescript' },
        timeout: '90s',
        retries: { retries: 3 },
        discoveryVersion: '2',
        deprecatedErrorMessage: 'use demo.fetch2',
        interruptible: true,
        cacheSerializable: true,
        cacheIgnoreInputVars: ['token'],
      },
      interface: {
        inputs: {
          variables: {
            url: { type: { simple: 'STRING' }, description: 'url' },
            retries: {
              type: {
                unionType: {
                  variants: [
                    { simple: 'INTEGER', structure: { tag: 'int' } },
                    { simple: 'NONE', structure: { tag: 'none' } },
                  ],
                },
              },
              description: 'retries',
            },
            token: { type: { simple: 'STRING' }, description: 'token' },
          },
        },
        outputs: {
          variables: {
            body: { type: { simple: 'STRING' }, description: 'body' },
            status: { type: { simple: 'INTEGER' }, description: 'status' },
          },
        },
      },
      custom: { plugin: { option: true } },
      container: {
        image: 'registry.local/app:1',
        args: [
          'flyte-ts-execute',
          '--inputs',
          '{{.input}}',
          '--output-prefix',
          '{{.outputPrefix}}',
          '--raw-output-data-prefix',
          '{{.rawOutputDataPrefix}}',
          '--checkpoint-path',
          '{{.checkpointOutputPrefix}}',
          '--prev-checkpoint',
          '{{.prevCheckpointPrefix}}',
          '--',
          'task-module',
          'app/tasks.js',
          'task-name',
          'demo.fetch',
        ],
        resources: {
          requests: [
            { name: 'CPU', value: '500m' },
            { name: 'MEMORY', value: '256Mi' },
          ],
          limits: [
            { name: 'MEMORY', value: '1Gi' },
            { name: 'GPU', value: '1' },
          ],
        },
        env: [{ key: 'MODE', value: 'fast' }],
      },
      securityContext: { secrets: [{ group: 'api', key: 'token', mountRequirement: 'ENV_VAR' }] },
      config: { primary: 'yes' },
    });
  });

  it('runs locally through literals, so values are checked as in an execution', async () => {
    await expect(fetch.run({ url: 'x', token: 't' })).resolves.toEqual({ body: 'GET x', status: 200 });
    await expect(fetch.run({ url: 1 as never, token: 't' })).rejects.toThrow(
      'demo.fetch.inputs.url: expected string, got number 1',
    );
    const broken = task({ name: 'demo.broken', outputs: { n: t.int() } }, () => ({ n: 1.5 }));
    const error = await broken.run({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LiteralTypeError);
    expect((error as LiteralTypeError).message).toBe('demo.broken.outputs.n: expected integer, got number');
  });

  it('rejects a cache without version and unknown ignored inputs', () => {
    expect(() => task({ name: 'x', cache: { version: ' ' } }, () => undefined)).toThrow(FlyteError);
    expect(() =>
      task({ name: 'x', inputs: { a: t.int() }, cache: { version: '1', ignoreInputs: ['b' as 'a'] } }, () => undefined),
    ).toThrow(/unknown input b/);
  });
});

describe('launchPlan → LaunchPlanSpec', () => {
  const report = workflow(
    {
      name: 'demo.report',
      inputs: { region: t.string(), day: t.datetime(), limit: t.int(), note: t.optional(t.string()) },
      outputs: { rows: t.int() },
      defaults: { limit: 10 },
    },
    ({ limit }) => ({ rows: limit }),
  );

  it('describes defaults, fixed inputs, schedule and execution settings', () => {
    const nightly = launchPlan(report, {
      name: 'demo.report.nightly',
      fixedInputs: { region: 'eu' },
      defaultInputs: { limit: 50 },
      schedule: { cron: '0 2 * * *', timezone: 'Europe/Paris', kickoffTimeInput: 'day' },
      labels: { team: 'data' },
      annotations: { owner: 'ana' },
      notifications: [{ on: ['failed', 'timed-out'], email: ['ana@example.com'] }],
      securityContext: { serviceAccount: 'reporter', iamRole: 'arn:aws:iam::1:role/r' },
      maxParallelism: 8,
      rawOutputPrefix: 's3://bucket/raw',
      overwriteCache: true,
      envs: { LOG: 'debug' },
      activate: true,
    });
    const lp = toJson(idl.admin.LaunchPlanSchema, nightly.toLaunchPlan({ project: 'p', domain: 'd', version: '1' }));
    expect(lp).toEqual({
      id: { resourceType: 'LAUNCH_PLAN', project: 'p', domain: 'd', name: 'demo.report.nightly', version: '1' },
      spec: {
        workflowId: { resourceType: 'WORKFLOW', project: 'p', domain: 'd', name: 'demo.report', version: '1' },
        entityMetadata: {
          schedule: { cronSchedule: { schedule: 'CRON_TZ=Europe/Paris 0 2 * * *' }, kickoffTimeInputArg: 'day' },
          notifications: [{ phases: ['FAILED', 'TIMED_OUT'], email: { recipientsEmail: ['ana@example.com'] } }],
        },
        defaultInputs: {
          parameters: {
            day: { var: { type: { simple: 'DATETIME' }, description: 'day' }, required: true },
            limit: {
              var: { type: { simple: 'INTEGER' }, description: 'limit' },
              default: { scalar: { primitive: { integer: '50' } } },
            },
            note: {
              var: {
                type: {
                  unionType: {
                    variants: [
                      { simple: 'STRING', structure: { tag: 'str' } },
                      { simple: 'NONE', structure: { tag: 'none' } },
                    ],
                  },
                },
                description: 'note',
              },
              default: {
                scalar: {
                  union: { value: { scalar: { noneType: {} } }, type: { simple: 'NONE', structure: { tag: 'none' } } },
                },
              },
            },
          },
        },
        fixedInputs: { literals: { region: { scalar: { primitive: { stringValue: 'eu' } } } } },
        labels: { values: { team: 'data' } },
        annotations: { values: { owner: 'ana' } },
        securityContext: { runAs: { iamRole: 'arn:aws:iam::1:role/r', k8sServiceAccount: 'reporter' } },
        rawOutputDataConfig: { outputLocationPrefix: 's3://bucket/raw' },
        maxParallelism: 8,
        overwriteCache: true,
        envs: { values: [{ key: 'LOG', value: 'debug' }] },
      },
      closure: { state: 'ACTIVE' },
    });
  });

  it('defaults to the workflow name and its defaults (the default launch plan)', () => {
    const lp = launchPlan(report);
    expect(lp.name).toBe('demo.report');
    const spec = lp.spec();
    expect(toJson(idl.core.ParameterSchema, spec.defaultInputs!.parameters['limit']!)).toMatchObject({
      default: { scalar: { primitive: { integer: '10' } } },
    });
  });

  it('turns fixed rates into minutes, hours or days', () => {
    const rate = (r: string) => {
      const s = launchPlan(report, { name: `r${r}`, schedule: { rate: r } }).spec().entityMetadata?.schedule;
      return toJson(idl.admin.ScheduleSchema, s!);
    };
    expect(rate('90m')).toEqual({ rate: { value: 90 } });
    expect(rate('2h')).toEqual({ rate: { value: 2, unit: 'HOUR' } });
    expect(rate('2d')).toEqual({ rate: { value: 2, unit: 'DAY' } });
    expect(() => rate('30s')).toThrow(/whole number of minutes/);
  });

  it('rejects bad configurations with coded errors', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as FlyteError).code;
      }
      return undefined;
    };
    expect(code(() => launchPlan(report, { fixedInputs: { nope: 1 } as never }))).toBe('INVALID_DEFINITION');
    expect(code(() => launchPlan(report, { fixedInputs: { limit: 1 }, defaultInputs: { limit: 2 } }))).toBe(
      'INVALID_DEFINITION',
    );
    expect(code(() => launchPlan(report, { fixedInputs: { limit: 'x' as never } }))).toBe('TYPE_MISMATCH');
    expect(code(() => launchPlan(report, { schedule: { cron: 'every day' } }))).toBe('INVALID_FORMAT');
    expect(code(() => launchPlan(report, { schedule: { cron: '@daily', kickoffTimeInput: 'region' } }))).toBe(
      'INVALID_DEFINITION',
    );
  });
});

describe('conditions', () => {
  const pick = task({ name: 'c.pick', inputs: { v: t.optional(t.int()) }, outputs: { o: t.int() } }, ({ v }) => ({
    o: v ?? 0,
  }));

  it('join with or, and compare optional promises with none', () => {
    const wf = workflow(
      { name: 'c.or', inputs: { v: t.optional(t.int()), x: t.int() }, outputs: { o: t.int() } },
      ({ v, x }) => ({
        o: conditional('c')
          .if(or(v.isNone(), x.gt(3)))
          .then(() => pick({ v }).o)
          .else(() => pick({ v: 0 }).o),
      }),
    );
    const branch = toJson(idl.core.WorkflowTemplateSchema, wf.template()) as { nodes: { branchNode: unknown }[] };
    expect(branch.nodes[0]!.branchNode).toMatchObject({
      ifElse: {
        case: {
          condition: {
            conjunction: {
              operator: 'OR',
              leftExpression: { comparison: { leftValue: { var: '.v' }, rightValue: { scalar: { noneType: {} } } } },
              rightExpression: {
                comparison: { operator: 'GT', leftValue: { var: '.x' }, rightValue: { primitive: { integer: '3' } } },
              },
            },
          },
        },
      },
    });
  });

  it.each([
    ['an optional with a constant', ({ v }: Inputs) => v.gt(3)],
    ['an enum with a constant', ({ color }: Inputs) => color.eq('red')],
    ['an element of a list', ({ xs }: Inputs) => xs.at(0).gt(1)],
    ['a list', ({ xs }: Inputs) => xs.eq(1 as never)],
    ['promises of different types', ({ x, f }: Inputs) => x.gt(f)],
    ['a non-optional with none', ({ x }: Inputs) => x.isNone()],
    ['an integer with a fraction', ({ x }: Inputs) => x.gt(1.5)],
  ])('rejects comparing %s (Flyte compares equal primitive types only)', (_name, condition) => {
    const define = () =>
      workflow({ name: 'c.bad', inputs }, (promises) => {
        conditional('c')
          .if(condition(promises))
          .then(() => pick({ v: 1 }))
          .fail('no');
      });
    expect(define).toThrow(FlyteError);
    try {
      define();
    } catch (error) {
      expect((error as FlyteError).code).toBe('INVALID_BRANCH');
    }
  });
});

const inputs = {
  v: t.optional(t.int()),
  x: t.int(),
  f: t.float(),
  color: t.enum(['red', 'green']),
  xs: t.list(t.int()),
};
type Inputs = Parameters<Parameters<typeof workflow<typeof inputs, Record<never, never>>>[1]>[0];
