// Small helpers the rules share to read an unknown value and quote it in a message.

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** A value as a message may quote it: strings JSON-quoted and cut at 80 characters, objects by their kind. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value)
  return Array.isArray(value) ? 'an array' : typeof value
}
