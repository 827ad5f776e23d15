// Literal → LiteralType inference, as flytepropeller's validators/utils.go does it (cases of utils_test.go).
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { describeLiteralType, idl, literalTypeForLiteral, t } from '@flyte-ts/core';

const collection = (...literals: idl.core.Literal[]) =>
  create(idl.core.LiteralSchema, { value: { case: 'collection', value: { literals } } });
const int = (n: number) => t.int().toLiteral(n);
const str = (s: string) => t.string().toLiteral(s);
const unionOf = (literal: idl.core.Literal, type: idl.core.LiteralType) =>
  create(idl.core.LiteralSchema, {
    value: { case: 'scalar', value: { value: { case: 'union', value: { value: literal, type } } } },
  });
const infer = (literal: idl.core.Literal) => describeLiteralType(literalTypeForLiteral(literal));

describe('literalTypeForLiteral', () => {
  it('infers scalars', () => {
    expect(infer(int(5))).toBe('integer');
    expect(infer(t.float().toLiteral(1.5))).toBe('float');
    expect(infer(t.none().toLiteral(null))).toBe('none');
    expect(infer(t.struct().toLiteral({ a: 1 }))).toBe('struct');
    expect(infer(t.file({ format: 'csv' }).toLiteral('s3://b/k'))).toBe('file<csv>');
    expect(infer(t.binary().toLiteral(new Uint8Array([1])))).toBe('binary');
  });

  it('reads a msgpack binary as a struct (flytekit dataclasses)', () => {
    const literal = create(idl.core.LiteralSchema, {
      value: {
        case: 'scalar',
        value: { value: { case: 'binary', value: { value: new Uint8Array([0x80]), tag: 'msgpack' } } },
      },
    });
    expect(infer(literal)).toBe('struct');
  });

  it('infers a homogeneous collection', () => {
    expect(infer(collection(int(5), int(0), int(5)))).toBe('list<integer>');
  });

  it('infers a union, in Flyte’s order, for mixed collections', () => {
    expect(infer(collection(str('hello'), int(5), str('world'), int(0), int(2)))).toBe('list<union<integer | string>>');
    expect(infer(collection(int(5), str('world')))).toBe('list<union<integer | string>>');
  });

  it('keeps union literals as singular unions', () => {
    const iType = t.int().literalType;
    const sType = t.string().literalType;
    expect(infer(collection(unionOf(int(1), iType), unionOf(str('foo'), sType)))).toBe(
      'list<union<union<integer> | union<string>>>',
    );
  });

  it('drops empty nested lists unless they are all there is', () => {
    expect(infer(collection(collection(str('foo')), collection()))).toBe('list<list<string>>');
    expect(infer(collection(collection()))).toBe('list<list<none>>');
    expect(infer(collection())).toBe('list<none>');
  });

  it('flattens nested lists of unions into one union', () => {
    const iType = t.int().literalType;
    const sType = t.string().literalType;
    expect(infer(collection(collection(unionOf(int(1), iType)), collection(unionOf(str('foo'), sType))))).toBe(
      'list<list<union<integer | string>>>',
    );
  });

  it('keeps the inferred type of offloaded literals', () => {
    const literal = create(idl.core.LiteralSchema, {
      value: {
        case: 'offloadedMetadata',
        value: { uri: 's3://x', sizeBytes: 1000n, inferredType: t.list(t.int()).literalType },
      },
    });
    expect(infer(literal)).toBe('list<integer>');
  });

  it('cannot tell an empty literal', () => {
    expect(literalTypeForLiteral(create(idl.core.LiteralSchema))).toBeUndefined();
  });
});
