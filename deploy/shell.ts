/**
 * Building command lines that run through a shell elsewhere (over `ssh`, inside a batch job
 * script): every word quoted so that spaces, quotes and `$` arrive as they were.
 *
 * @module
 */

/** One word for a POSIX shell: left as is when safe, else in single quotes. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_\/.:=,@%+-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}

/** Words joined into one shell command line, each quoted. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellQuote).join(" ");
}

/** `NAME=value` assignments for a command line's environment, quoted. */
export function shellEnv(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new TypeError(`${JSON.stringify(name)} is not an environment variable name`);
    }
    return `${name}=${shellQuote(value)}`;
  });
}
