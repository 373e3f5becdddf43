/**
 * @module
 * Work done once per object for the isolate's lifetime: per env (config, better-auth) or per
 * compiled policy (its CORS middleware).
 */

/** `create` wrapped so that it runs once per key object; later calls return the first result. */
export function oncePer<K extends object, V>(create: (key: K) => V): (key: K) => V {
  const results = new WeakMap<K, V>();
  return (key) => {
    let value = results.get(key);
    if (value === undefined) {
      value = create(key);
      results.set(key, value);
    }
    return value;
  };
}
