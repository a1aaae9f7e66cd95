/**
 * Options objects are checked where they are used: a misspelt option (`compute({ schedular })`)
 * fails with an error that names it and the nearest valid one, instead of being ignored.
 *
 * @module
 */

/** Edits (insert, delete, substitute one character) between two short names, case-blind. */
function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(previous[j] + 1, row[j - 1] + 1, substitute));
    }
    previous = row;
  }
  return previous[b.length];
}

/** The valid name nearest to `name`, when one is near enough to be what was meant. */
export function nearestName(name: string, valid: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of valid) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Checks that every key of `options` is one of `valid`.
 *
 * @throws {TypeError} naming the first unknown option, the nearest valid one, and `where` the
 *   options were given (e.g. `"compute()"`).
 */
export function checkOptionNames(options: object, valid: Iterable<string>, where: string): void {
  const names = [...valid];
  for (const name of Object.keys(options)) {
    if (names.includes(name)) continue;
    const nearest = nearestName(name, names);
    const hint = nearest === undefined ? "" : ` Did you mean '${nearest}'?`;
    throw new TypeError(
      `Unknown option '${name}' for ${where}.${hint} The options are ${names.join(", ")}.`,
    );
  }
}

/**
 * The option names of an options type, from a record that must list every one of them (the
 * compiler refuses a missing or unknown name, so the list cannot drift from the type).
 */
export function optionNames<T>(every: Record<keyof T, true>): readonly (keyof T & string)[] {
  return Object.keys(every) as (keyof T & string)[];
}
