/**
 * Capabilities are named bits of an AC's `capability_mask`. The bit values are part of the
 * AC format: never renumber, only append.
 */
export const CAPABILITY_BITS = {
  read: 1 << 0,
  exec: 1 << 1,
  write: 1 << 2,
  admin: 1 << 3,
} as const;

export type Capability = keyof typeof CAPABILITY_BITS;
export const CAPABILITIES = Object.keys(CAPABILITY_BITS) as Capability[];

export function isCapability(value: unknown): value is Capability {
  return typeof value === 'string' && Object.hasOwn(CAPABILITY_BITS, value);
}

export function capabilityMask(names: readonly Capability[]): number {
  return names.reduce((mask, name) => mask | CAPABILITY_BITS[name], 0);
}

/** The names of the bits set in `mask`, in bit order; unknown bits are ignored. */
export function capabilityNames(mask: number): Capability[] {
  return CAPABILITIES.filter((name) => (mask & CAPABILITY_BITS[name]) !== 0);
}

export function hasCapabilities(mask: number, required: readonly Capability[]): boolean {
  const need = capabilityMask(required);
  return (mask & need) === need;
}
