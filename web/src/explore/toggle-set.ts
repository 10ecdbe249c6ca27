/** `set` with `key` added, or removed when present: the next state of an open/closed set (rows, tree nodes). */
export function toggled<T>(set: ReadonlySet<T>, key: T): Set<T> {
  const next = new Set(set);
  if (next.has(key)) next.delete(key);
  else next.add(key);
  return next;
}
