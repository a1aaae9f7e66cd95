/** The type name a value reports as (`number`, `Float64Array`, `Object`, `null`). */
export function typeNameOf(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
}
