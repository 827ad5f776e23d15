// Writing arbitrary keys (map keys, variable names) into plain objects safely: `__proto__` would otherwise
// set the prototype instead of creating an entry.

/** Sets `record[key] = value` as an own property, whatever the key. */
export function setOwn<T>(record: { [key: string]: T }, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    record[key] = value;
  }
}
