/** Task functions of bench/primitives.ts: they import the library, so they travel by module. */

import { getClient, rejoin, secede, taskModule } from "../mod.ts";

export const benchTasks = taskModule(import.meta.url, {
  /** Launches 10 subtasks through getClient(), waits for them seceded, adds them up. */
  launcher: async (i: number): Promise<number> => {
    const client = await getClient();
    const futures = client.with({ pure: false }).map(
      (x: number, offset: number) => x + offset,
      Array.from({ length: 10 }, (_, x) => x),
      Array.from({ length: 10 }, () => i),
    );
    secede();
    const values = await client.gather(futures);
    await rejoin();
    return values.reduce((a, b) => a + b, 0);
  },
});
