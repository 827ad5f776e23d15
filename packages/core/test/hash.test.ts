// Hashing of literal maps for cache keys. Vectors marked "Flyte" are asserted by Flyte's own tests
// (flyteplugins catalog hashing, flytepropeller datacatalog transformer, flytestdlib pbhash) or by the
// ObjectHash library Flyte uses; the others are a snapshot that pins our output across releases.
import { execFileSync } from 'node:child_process';
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  cacheTag,
  catalogKeyForTask,
  hashifyLiteral,
  hashLiteralMap,
  idl,
  interfaceSignatureHash,
  objectHash,
  t,
  taskId,
  toLiteralMap,
} from '@flyte-ts/core';

const intMap = (values: Record<string, number>) =>
  toLiteralMap(Object.fromEntries(Object.keys(values).map((k) => [k, t.int()])), values as never);

describe('ObjectHash (the library Flyte hashes with)', () => {
  it.each([
    ['[]', 'acac86c0e609ca906f632b0e2dacccb2b77d22b0621f20ebece1a4835b93f6f0'],
    ['["foo"]', '268bc27d4974d9d576222e4cdbb8f7c6bd6791894098645a19eeca9c102d0964'],
    ['{}', '18ac3e7343f016890c510e93f935261169d9e3f565436429830faf0934f4f8e4'],
    ['{"foo": "bar"}', '7ef5237c3027d6c58100afadf37796b3d351025cf28038280147d42fdc53b960'],
    ['{"foo": ["bar", "baz"], "qux": ["norf"]}', 'f1a9389f27558538a064f3cc250f8686a0cebb85f1cab7f4d4dcc416ceda3c92'],
    ['true', '7dc96f776c8423e57a2785489a3f9c43fb6e756876d6ad9a9cac4aa4e72ec193'],
    ['false', 'c02c0b965e023abee808f2b548d8d5193a8b5229be6f3121a6f16e2d41a449b3'],
    [
      '["foo", {"bar": ["baz", null, 1.0, 1.5, 0.0001, 1000.0, 2.0, -23.1234, 2.0]}]',
      '783a423b094307bcb28d005bc2f026ff44204442ef3513585e7e73b66e3c2213',
    ],
    ['{"k2": "v2", "k1": "v1", "k3": "v3"}', 'ddd65f1f7568269a30df7cafc26044537dc2f02a1a0d830da61762fc3e687057'],
    ['0.0', '60101d8c9cb988411468e38909571f357daa67bff5a7b0a3f9ae295cd4aba33d'],
  ])('Flyte: %s', (json, hex) => {
    expect(objectHash(JSON.parse(json)).toString('hex')).toBe(hex);
  });
});

describe('hashLiteralMap', () => {
  it('Flyte: {1: 1, 2: 2} hashes to the tag of flytepropeller’s tests', () => {
    expect(cacheTag(intMap({ 1: 1, 2: 2 }))).toBe('flyte_cached-GQid5LjHbakcW68DS3P2jp80QLbiF0olFHF2hTh5bg8');
  });

  it('Flyte: ignored inputs are left out', () => {
    expect(cacheTag(intMap({ 1: 1, 2: 2, 3: 3 }), ['3'])).toBe(
      'flyte_cached-GQid5LjHbakcW68DS3P2jp80QLbiF0olFHF2hTh5bg8',
    );
  });

  it('Flyte: no inputs and empty inputs hash alike', () => {
    expect(hashLiteralMap(undefined)).toBe('GKw-c0PwFokMUQ6T-TUmEWnZ4_VlQ2Qpgw-vCTT0-OQ');
    expect(hashLiteralMap(create(idl.core.LiteralMapSchema))).toBe('GKw-c0PwFokMUQ6T-TUmEWnZ4_VlQ2Qpgw-vCTT0-OQ');
  });

  it('Flyte: a string input', () => {
    const map = toLiteralMap({ out1: t.string() }, { out1: 'output1-stringval' });
    expect(cacheTag(map)).toBe('flyte_cached-BE6CZsMk6N3ExR_4X9EuwBgj2Jh2UwasXK3a_pM9xlY');
  });

  it('does not depend on the order of map keys', () => {
    const a = intMap({ x: 1, y: 2, z: 3 });
    const b = intMap({ z: 3, x: 1, y: 2 });
    expect(Object.keys(a.literals)).not.toEqual(Object.keys(b.literals));
    expect(hashLiteralMap(a)).toBe(hashLiteralMap(b));
    // Nested maps too: the same entries inserted in another order hash alike.
    const values = { p: 1, q: 2, r: 3 };
    const nested = (order: string[]) =>
      toLiteralMap(
        { m: t.map(t.int()) },
        { m: Object.fromEntries(order.map((k) => [k, values[k as keyof typeof values]])) },
      );
    expect(Object.keys(nested(['p', 'q', 'r']).literals['m']!.value.value as object)).toBeDefined();
    expect(hashLiteralMap(nested(['p', 'q', 'r']))).toBe(hashLiteralMap(nested(['r', 'q', 'p'])));
    // ... and different values do not.
    expect(hashLiteralMap(nested(['p', 'q', 'r']))).not.toBe(
      hashLiteralMap(toLiteralMap({ m: t.map(t.int()) }, { m: { p: 2, q: 1, r: 3 } })),
    );
  });

  it('distinguishes values, types and list order', () => {
    const hashes = [
      hashLiteralMap(toLiteralMap({ a: t.int() }, { a: 1 })),
      hashLiteralMap(toLiteralMap({ a: t.float() }, { a: 1 })),
      hashLiteralMap(toLiteralMap({ a: t.string() }, { a: '1' })),
      hashLiteralMap(toLiteralMap({ a: t.list(t.int()) }, { a: [1, 2] })),
      hashLiteralMap(toLiteralMap({ a: t.list(t.int()) }, { a: [2, 1] })),
    ];
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('hashes a literal carrying a precomputed hash by that hash alone', () => {
    const literal = create(idl.core.LiteralSchema, { ...t.string().toLiteral('big'), hash: 'abcde' });
    expect(hashifyLiteral(literal)).toEqual(create(idl.core.LiteralSchema, { hash: 'abcde' }));
    const withHash = create(idl.core.LiteralMapSchema, { literals: { a: literal } });
    expect(cacheTag(withHash)).toBe('flyte_cached-Fq3JovY8ctWd0lGy2p1c-XTHu1uSMWLr5jGyHrwk1do');
  });

  // A snapshot of known hashes: these must never change between releases (they are cache keys).
  it.each([
    [
      'string "hello"',
      toLiteralMap({ a: t.string() }, { a: 'hello' }),
      'flyte_cached-iVS070zqLXueu3ftJebQZssDkR9BnuRgQTCQ18IaJRs',
    ],
    [
      'string ""',
      toLiteralMap({ a: t.string() }, { a: '' }),
      'flyte_cached-vnPrY_e4VlVsyZZSSPEb0BuTgGYoNDc5rhWPWwYR3rw',
    ],
    ['integer 0', toLiteralMap({ a: t.int() }, { a: 0 }), 'flyte_cached-twQmhh9sFdLtBWGKRq4LtOZuFlwROR2qj0MZ0cr-noY'],
    ['integer -5', toLiteralMap({ a: t.int() }, { a: -5 }), 'flyte_cached-e2UBelUPpFj0vtyhP4iyXAmPElY46fh4TDlh9drT3rA'],
    [
      'integer 2^53+1',
      toLiteralMap({ a: t.int64() }, { a: 9007199254740993n }),
      'flyte_cached-00Xb8a2MZLQHzmQfP0rch7pw_iADYkgksrHH5-UdLbM',
    ],
    [
      'float 1.5',
      toLiteralMap({ a: t.float() }, { a: 1.5 }),
      'flyte_cached-w8eg1fmtybp7pl5iXcJof1ISDd1QDBAWKEIJHo7YYmA',
    ],
    ['float 0', toLiteralMap({ a: t.float() }, { a: 0 }), 'flyte_cached-bV6FeWMprV7UQaT-PJm6K61HlbvjsGKIm2gWwaV1NRw'],
    [
      'float 0.1',
      toLiteralMap({ a: t.float() }, { a: 0.1 }),
      'flyte_cached-TI3Izfzz2QhC8EG_cu9mJTCGUJPW_KS6HjHLwywrk0o',
    ],
    [
      'float NaN',
      toLiteralMap({ a: t.float() }, { a: Number.NaN }),
      'flyte_cached-u_ucvnWhu-NCe2wS3TO5SlekRON9m_S9y9LS00PeXyQ',
    ],
    [
      'boolean false',
      toLiteralMap({ a: t.boolean() }, { a: false }),
      'flyte_cached-7uklECbBXQ7yN05C_3yymFzhHZOH-EPkawhIe_fdbyM',
    ],
    [
      'datetime',
      toLiteralMap({ a: t.datetime() }, { a: new Date('2019-03-29T12:00:00Z') }),
      'flyte_cached-hB4Jf1Hh0_pQdoRbX_1JsiNL7mYh2xw_3_-fI7cmrNM',
    ],
    [
      'duration 1ms',
      toLiteralMap({ a: t.duration() }, { a: 1 }),
      'flyte_cached-gHX27ibgMeULJAOZf-va9KA2k0k72win5gJVDEMOxUI',
    ],
    [
      'duration 1.5s',
      toLiteralMap({ a: t.duration() }, { a: 1500 }),
      'flyte_cached-64C6nOvj92B_ldtptdu7azQKFWAYyq0dwf8jvFWcU18',
    ],
    ['none', toLiteralMap({ a: t.none() }, { a: null }), 'flyte_cached-Sk60CRXSkIGDBppoDHwZeEfoVBpg-bt822fZEcGE2LE'],
    [
      'list [1,2,3]',
      toLiteralMap({ a: t.list(t.int()) }, { a: [1, 2, 3] }),
      'flyte_cached-_T2RTTvNsYl_wuYreWiSmMRPi9cBeKVx74gQpYT433w',
    ],
    [
      'empty list',
      toLiteralMap({ a: t.list(t.int()) }, { a: [] }),
      'flyte_cached-4ZnkW4ehbijBMHwq9wMvjCLRqq6N1aHm7XUUTR4mIqE',
    ],
    [
      'map',
      toLiteralMap({ a: t.map(t.string()) }, { a: { k: 'v' } }),
      'flyte_cached-tah78ni0qbEg42EUJ62SdVq7c9ABJHlsOaiQ6apnvJY',
    ],
    [
      'csv file',
      toLiteralMap({ a: t.file({ format: 'csv' }) }, { a: 's3://bucket/key' }),
      'flyte_cached-RfpTsLrImc3uS_R3Ct1ogdJ-2Yp8nyduMCn_Nj5pn7c',
    ],
    [
      'directory',
      toLiteralMap({ a: t.directory() }, { a: 's3://bucket/dir' }),
      'flyte_cached-Rs4y32-330mcs5goGuvoQDWezLZ3qqLgTvdJN9w-KNU',
    ],
    [
      'struct',
      toLiteralMap({ a: t.struct() }, { a: { x: 1, y: 'z', n: null, l: [true, {}] } }),
      'flyte_cached-7RXvsT-ASBQz-r_u2UsXzglNzU6YpELrvp-aOKGdiLY',
    ],
    [
      'two inputs',
      toLiteralMap({ x: t.int(), y: t.string() }, { x: 1, y: 'a' }),
      'flyte_cached-CqLjsJrJSsVl7vtS4agysT8YpFTUapmXGspR0BBmzYU',
    ],
  ])('snapshot: %s', (_name, map, tag) => {
    expect(cacheTag(map)).toBe(tag);
  });

  it('is the same in another process', () => {
    const script = `
      import { cacheTag, t, toLiteralMap } from '@flyte-ts/core';
      process.stdout.write(cacheTag(toLiteralMap({ b: t.map(t.float()), a: t.list(t.string()) }, { b: { y: 2.5, x: -1 }, a: ['q'] })));
    `;
    const here = cacheTag(
      toLiteralMap({ a: t.list(t.string()), b: t.map(t.float()) }, { a: ['q'], b: { x: -1, y: 2.5 } }),
    );
    const there = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--conditions=@flyte-ts/source', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
      },
    );
    expect(there).toBe(here);
  });
});

describe('catalog keys of cached tasks', () => {
  it('Flyte: dataset version of a task without interface', () => {
    const key = catalogKeyForTask(
      {
        id: taskId({ project: 'p', domain: 'd', name: 'n', version: 'v' }),
        cacheVersion: '1.0.0',
        interface: undefined,
      },
      undefined,
    );
    expect(key.dataset.version).toBe('1.0.0-GKw-c0Pw-GKw-c0Pw');
  });

  it('Flyte: dataset id of a task with a string input and output', () => {
    const iface = create(idl.core.TypedInterfaceSchema, {
      inputs: { variables: { test: { type: t.string().literalType } } },
      outputs: { variables: { test: { type: t.string().literalType } } },
    });
    const key = catalogKeyForTask(
      {
        id: taskId({ project: 'project', domain: 'domain', name: 'name', version: 'v1' }),
        cacheVersion: '1.0.0',
        interface: iface,
      },
      undefined,
    );
    expect(key.dataset).toMatchObject({
      project: 'project',
      domain: 'domain',
      name: 'flyte_task-name',
      version: '1.0.0-ue5g6uuI-ue5g6uuI',
    });
    expect(interfaceSignatureHash(iface)).toBe('ue5g6uuI-ue5g6uuI');
  });

  it('Flyte: input variable order does not change the signature', () => {
    const iface = create(idl.core.TypedInterfaceSchema, {
      inputs: { variables: { 2: { type: t.int().literalType }, 1: { type: t.int().literalType } } },
    });
    expect(interfaceSignatureHash(iface)).toBe('UxVtPm0k-GKw-c0Pw');
  });

  it('trims the cache version and rejects a blank one', () => {
    const id = taskId({ project: 'p', domain: 'd', name: 'n', version: 'v' });
    expect(catalogKeyForTask({ id, cacheVersion: ' 1.0 ', interface: undefined }, undefined).dataset.version).toMatch(
      /^1\.0-/,
    );
    expect(() => catalogKeyForTask({ id, cacheVersion: '  ', interface: undefined }, undefined)).toThrow(
      /empty cache version/,
    );
  });
});
