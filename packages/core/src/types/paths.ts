// Value paths for error messages: `inputs.xs[3]`, `outputs.m.key`, `outputs.m["odd key"]`.

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Path of element `index` of the collection at `path`. */
export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** Path of entry `key` of the map or object at `path`. */
export function keyPath(path: string, key: string): string {
  if (IDENTIFIER.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}
