/**
 * A cluster token and client identities written where a scheduler and its workers read them
 * (docs/security.md): the files and the flags that name them, for tests of tenancy.
 */

/** The flags a tenancy test's scheduler and workers start with. */
export interface TenancyFlags {
  schedulerArgs: string[];
  workerArgs: string[];
}

/**
 * Writes `clusterToken` and the client `identities` (`name:token` lines) into `dir` and returns
 * the flags that make a scheduler require them and its workers present the cluster token.
 */
export async function writeTenancyFiles(
  dir: string,
  clusterToken: string,
  identities: readonly string[],
): Promise<TenancyFlags> {
  await Deno.writeTextFile(`${dir}/token`, clusterToken);
  await Deno.writeTextFile(`${dir}/clients`, `# identities\n${identities.join("\n")}\n`);
  return {
    schedulerArgs: [
      "--auth-token-file",
      `${dir}/token`,
      "--client-tokens-file",
      `${dir}/clients`,
    ],
    workerArgs: ["--auth-token-file", `${dir}/token`],
  };
}
