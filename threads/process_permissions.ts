/**
 * The permission flags a worker subprocess is started with: the permissions this process holds
 * whole, as `--allow-<name>` flags, or `-A` when it holds them all. A permission granted only for
 * some paths or hosts is not passed on (Deno cannot list them): grant it whole, or run with `-A`.
 *
 * @module
 */

/** Deno's permission names a subprocess can be given. */
const PERMISSION_NAMES = ["read", "write", "net", "env", "sys", "run", "ffi", "import"] as const;

/** The flags that give a subprocess the permissions this process holds whole. */
export function inheritedPermissionFlags(): string[] {
  const granted: string[] = [];
  let known = 0;
  for (const name of PERMISSION_NAMES) {
    let state: Deno.PermissionState;
    try {
      state = Deno.permissions.querySync({ name } as Deno.PermissionDescriptor).state;
    } catch {
      continue; // a name this Deno does not know
    }
    known++;
    if (state === "granted") granted.push(name);
  }
  if (granted.length === known) return ["-A"];
  return granted.map((name) => `--allow-${name}`);
}
