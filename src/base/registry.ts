/**
 * A registry of plugins by kind: the one list a backend kind or a connector kind is added
 * to. Registering a kind twice is a programming error and throws at once, so two plugins
 * can never silently compete for one name in the configuration.
 */

export interface Plugin {
  /** The name the configuration uses: `backends: [{kind: …}]`, `connectors.<kind>`. */
  readonly kind: string;
}

const KIND_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

export class Registry<P extends Plugin> {
  readonly #byKind = new Map<string, P>();

  /** `what` names the registry in errors (`backend`, `connector`). */
  constructor(
    readonly what: string,
    plugins: readonly P[] = [],
  ) {
    for (const plugin of plugins) this.register(plugin);
  }

  /** Adds a kind; throws TypeError for a malformed kind or one already registered. */
  register(plugin: P): this {
    if (!KIND_PATTERN.test(plugin.kind)) throw new TypeError(`bad ${this.what} kind`);
    if (this.#byKind.has(plugin.kind)) {
      throw new TypeError(`${this.what} kind ${plugin.kind} is registered twice`);
    }
    this.#byKind.set(plugin.kind, plugin);
    return this;
  }

  get(kind: string): P | undefined {
    return this.#byKind.get(kind);
  }

  /** Registered kinds, in registration order. */
  get kinds(): readonly string[] {
    return [...this.#byKind.keys()];
  }

  /** Registered plugins, in registration order. */
  list(): readonly P[] {
    return [...this.#byKind.values()];
  }

  /** A copy with `plugins` added: for a deployment or a test that adds kinds of its own. */
  with(...plugins: readonly P[]): Registry<P> {
    return new Registry(this.what, [...this.list(), ...plugins]);
  }
}
