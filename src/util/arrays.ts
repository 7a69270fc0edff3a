/**
 * Appends `items` to `target` one by one. `target.push(...items)` passes every item
 * as an argument, and past roughly 100,000 of them (a word list, a corpus, a folder
 * of images) it throws "Maximum call stack size exceeded".
 */
export function pushAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const item of items) target.push(item);
  return target;
}
