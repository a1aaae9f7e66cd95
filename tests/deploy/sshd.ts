/**
 * A real OpenSSH server for tests, on 127.0.0.1 and a free port, with a host key and a user key
 * made for the test in a temp folder, and an ssh client config naming the same machine under two
 * aliases (`alpha`, `beta`). Everything (the server, the folder) goes on dispose.
 */
import { freePort, ManagedProcess } from "../helpers/cluster.ts";

/** Where Debian installs the server. */
const SSHD = "/usr/sbin/sshd";

/** True when this machine can run the test server (OpenSSH installed, running as root). */
export function sshdAvailable(): boolean {
  try {
    Deno.statSync(SSHD);
    return Deno.uid() === 0 && new Deno.Command("ssh", { args: ["-V"] }).outputSync().success;
  } catch {
    return false;
  }
}

/** A running test sshd and the client files that reach it. */
export interface TestSshd extends AsyncDisposable {
  dir: string;
  port: number;
  /** `ssh -F` this: hosts `alpha` and `beta`, both this machine. */
  configFile: string;
  process: ManagedProcess;
}

async function run(program: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${program} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Starts sshd and waits until it accepts a login. */
export async function startSshd(): Promise<TestSshd> {
  const dir = await Deno.makeTempDir({ prefix: "dask-deno-sshd-" });
  await Deno.chmod(dir, 0o700);
  const port = freePort();
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/host_key`]);
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/id_user`]);
  await Deno.copyFile(`${dir}/id_user.pub`, `${dir}/authorized_keys`);
  const hostKey = (await Deno.readTextFile(`${dir}/host_key.pub`)).trim();
  await Deno.writeTextFile(`${dir}/known_hosts`, `[127.0.0.1]:${port} ${hostKey}\n`);
  await Deno.writeTextFile(
    `${dir}/sshd_config`,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      `PidFile ${dir}/sshd.pid`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "StrictModes no",
      "UsePAM no",
      "LogLevel VERBOSE",
    ].join("\n") + "\n",
  );
  await Deno.writeTextFile(
    `${dir}/ssh_config`,
    [
      "Host alpha beta",
      "  HostName 127.0.0.1",
      `  Port ${port}`,
      `  User ${Deno.env.get("USER") ?? "root"}`,
      `  IdentityFile ${dir}/id_user`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${dir}/known_hosts`,
      "  StrictHostKeyChecking yes",
      "  BatchMode yes",
    ].join("\n") + "\n",
  );
  // Debian's sshd wants its privilege separation folder.
  await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const process = new ManagedProcess("sshd", ["-D", "-e", "-f", `${dir}/sshd_config`], {
    program: SSHD,
  });
  const stop = async () => {
    await process.stop();
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await process.waitForLine(/Server listening on 127\.0\.0\.1 port/);
    await run("ssh", ["-F", `${dir}/ssh_config`, "alpha", "true"]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    dir,
    port,
    configFile: `${dir}/ssh_config`,
    process,
    [Symbol.asyncDispose]: stop,
  };
}
