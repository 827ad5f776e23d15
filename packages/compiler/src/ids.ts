// Identifier keys, ordering and text for the compiler: sets of required ids are sorted the way Flyte sorts
// them (resource type number, then project, domain, name, version), and errors print ids as Flyte does.
import { idl } from '@flyte-ts/core';

/** A stable key of an identifier (every field that tells two entities apart). */
export function idKey(id: idl.core.Identifier | undefined): string {
  if (id === undefined) return '';
  return [id.resourceType, id.project, id.domain, id.name, id.version, id.org].join('\u0000');
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Flyte's order of identifiers: resource type (as a number), project, domain, name, version. */
export function compareIdentifiers(a: idl.core.Identifier, b: idl.core.Identifier): number {
  if (a.resourceType !== b.resourceType) return a.resourceType - b.resourceType;
  return (
    compareText(a.project, b.project) ||
    compareText(a.domain, b.domain) ||
    compareText(a.name, b.name) ||
    compareText(a.version, b.version)
  );
}

/** An identifier in protobuf text form, as Flyte prints it in errors (`resource_type:TASK name:"t1"`). */
export function identifierText(id: idl.core.Identifier | undefined): string {
  if (id === undefined) return '<nil>';
  const parts: string[] = [];
  if (id.resourceType !== idl.core.ResourceType.UNSPECIFIED) {
    parts.push(`resource_type:${idl.core.ResourceType[id.resourceType] ?? id.resourceType}`);
  }
  for (const field of ['project', 'domain', 'name', 'version', 'org'] as const) {
    if (id[field] !== '') parts.push(`${field}:${JSON.stringify(id[field])}`);
  }
  return parts.join(' ');
}

/** A set of identifiers, listed in Flyte's order. */
export class IdentifierSet {
  private readonly byKey = new Map<string, idl.core.Identifier>();

  /** Adds an identifier (once). */
  add(id: idl.core.Identifier): void {
    const key = idKey(id);
    if (!this.byKey.has(key)) this.byKey.set(key, id);
  }

  /** The identifiers, sorted. */
  list(): idl.core.Identifier[] {
    return [...this.byKey.values()].sort(compareIdentifiers);
  }
}
