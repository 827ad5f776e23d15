import { describe, expect, it } from 'vitest';
import { formatFilters, InvalidArgumentError, parseFilters } from '@flyte-ts/core';

describe('Flyte filter language', () => {
  it('parses filters joined by +', () => {
    expect(parseFilters('eq(phase,RUNNING)+gte(duration,100)+eq(workflow.name,my.wf)')).toEqual([
      { fn: 'eq', field: 'phase', values: ['RUNNING'] },
      { fn: 'gte', field: 'duration', values: ['100'] },
      { fn: 'eq', field: 'workflow.name', values: ['my.wf'] },
    ]);
  });

  it('parses value_in lists and values with commas or plus signs', () => {
    expect(parseFilters('value_in(phase,RUNNING;SUCCEEDED)')).toEqual([
      { fn: 'value_in', field: 'phase', values: ['RUNNING', 'SUCCEEDED'] },
    ]);
    expect(parseFilters('contains(name,a,b)')).toEqual([{ fn: 'contains', field: 'name', values: ['a,b'] }]);
    expect(parseFilters('eq(name,a+b)')).toEqual([{ fn: 'eq', field: 'name', values: ['a+b'] }]);
  });

  it('treats an empty text as no filter', () => {
    expect(parseFilters('  ')).toEqual([]);
  });

  it.each([
    ['unknown function', 'drop(phase,x)', /unknown filter function "drop"/],
    ['malformed', 'eq(phase)', /malformed filter/],
    ['injection in the field', 'eq(phase;DROP TABLE x,1)', /malformed filter/],
    ['empty value', 'gt(duration,)', /empty value/],
  ])('rejects %s with INVALID_ARGUMENT', (_name, text, message) => {
    try {
      parseFilters(text);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toMatch(message);
    }
  });

  it('formats back to the same text', () => {
    const text = 'eq(phase,RUNNING)+value_in(domain,development;staging)';
    expect(formatFilters(parseFilters(text))).toBe(text);
  });
});
