/**
 * An object with some of its methods replaced and every other one the real, bound to it:
 * how the audit and governance tests put a failing, slow or recording store under real code.
 */
export function withMethods<T extends object>(target: T, methods: { [K in keyof T]?: T[K] }): T {
  return new Proxy(target, {
    get(real, name) {
      if (Object.hasOwn(methods, name)) return methods[name as keyof T];
      const value: unknown = Reflect.get(real, name);
      return typeof value === 'function' ? (value as () => unknown).bind(real) : value;
    },
  });
}

/**
 * A store that does not append the audit sink's lines itself (no `appendJournal`): the
 * audit log then writes them, as it does for any store but the SQLite one.
 */
export function withoutJournal<T extends object>(store: T): T {
  type Hidden = T & { appendJournal: undefined };
  return withMethods<Hidden>(store as Hidden, { appendJournal: undefined } as Partial<Hidden>);
}
