/**
 * SSHCluster against a real OpenSSH server started by the test on 127.0.0.1 (tests/deploy/sshd.ts):
 * the scheduler on host `alpha`, workers on `beta` (the same machine under two names), through
 * the system's `ssh` client. Every remote process must be gone after close.
 */
import assert from "node:assert/strict";
import { Client, SSHCluster } from "../../mod.ts";
import { remoteCommand, secretLines, sshArgs } from "../../deploy/ssh_cluster.ts";
import { sshdAvailable, startSshd } from "./sshd.ts";

/** Pids of running processes whose environment holds `marker` (what the cluster started). */
function processesMarked(marker: string): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${entry.name}/environ`).includes(marker)) {
        if (alive(Number(entry.name))) found.push(Number(entry.name));
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** A process that runs (a zombie waiting for its parent to read its status does not). */
const alive = (pid: number) => {
  try {
    return !/^State:\s+Z/m.test(Deno.readTextFileSync(`/proc/${pid}/status`));
  } catch {
    return false;
  }
};

Deno.test({
  name: "SSHCluster: scheduler on one host alias, workers on another, logs streamed, all stopped",
  ignore: !sshdAvailable(),
  async fn() {
    await using sshd = await startSshd();
    const marker = `ssh-cluster-test-${crypto.randomUUID()}`;
    const cluster = await SSHCluster.start({
      hosts: ["alpha", "beta", "beta"],
      connectOptions: { configFile: sshd.configFile },
      workerOptions: { nthreads: 1, memoryLimit: "1GB" },
      schedulerOptions: { host: "127.0.0.1", port: 0, dashboard: 0 },
      remoteDeno: Deno.execPath(),
      remoteEnv: { NO_COLOR: "1", DASK_DENO_TEST_MARK: marker },
    });
    let pids: number[] = [];
    try {
      // the scheduler and the two workers, each under its nanny (as Dask's SSHCluster runs
      // Nanny), run on the "hosts" with the test's mark
      assert.equal(processesMarked(marker).length, 5, `${processesMarked(marker)}`);
      assert.match(cluster.schedulerAddress, /^tcp:\/\/127\.0\.0\.1:\d+$/);
      assert.match(cluster.dashboardLink ?? "", /^http:\/\/.*\/status$/);
      assert.deepEqual(cluster.workers, ["worker-0", "worker-1"]);
      await using client = await Client.connect(cluster, { setAsDefault: false });
      const squares = client.map((x: number) => x * x, [1, 2, 3, 4, 5]);
      assert.deepEqual(await client.gather(squares), [1, 4, 9, 16, 25]);
      await cluster.scale(3);
      assert.equal((await client.workers()).length, 3);
      // the workers, and their nannies
      pids = Object.values(await client.run(() => Deno.pid));
      pids.push(...Object.values(await client.run(() => Deno.ppid)));
      const logs = cluster.logs();
      assert.ok(logs.scheduler.some((l) => /^Scheduler at /.test(l)), logs.scheduler.join("\n"));
      assert.ok(logs["worker-2"].some((l) => /registered with the scheduler/.test(l)));
      // scaling down retires a worker and ends its remote process
      await cluster.scale(2);
      assert.equal((await client.workers()).length, 2);
    } finally {
      await cluster.close();
    }
    // the remote processes end as their connections close; give the hosts a moment
    const running = () => pids.some(alive) || processesMarked(marker).length > 0;
    for (let i = 0; i < 50 && running(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(processesMarked(marker), [], "nothing the cluster started runs after close");
    for (const pid of pids) {
      assert.ok(
        !alive(pid),
        `process ${pid} still runs after close: ${
          (() => {
            try {
              return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
            } catch {
              return "";
            }
          })()
        }`,
      );
    }
  },
});

Deno.test({
  name:
    "SSHCluster({ security: true }): TLS files and token reach the hosts on ssh's input, not a command line",
  ignore: !sshdAvailable(),
  async fn() {
    await using sshd = await startSshd();
    const marker = `ssh-cluster-tls-test-${crypto.randomUUID()}`;
    const cluster = await SSHCluster.start({
      hosts: ["alpha", "beta"],
      connectOptions: { configFile: sshd.configFile },
      schedulerOptions: { host: "127.0.0.1", port: 0, dashboard: false },
      remoteDeno: Deno.execPath(),
      remoteEnv: { NO_COLOR: "1", DASK_DENO_TEST_MARK: marker },
      security: true,
    });
    const folders = new Set<string>();
    try {
      assert.match(cluster.schedulerAddress, /^tls:\/\/127\.0\.0\.1:\d+$/);
      const token = cluster.authToken;
      assert.ok(token !== undefined && token.length >= 32, "a fresh token by default");
      const pids = processesMarked(marker);
      assert.equal(pids.length, 3, "the scheduler, the nanny and its worker");
      for (const pid of pids) {
        const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
        assert.ok(!cmdline.some((arg) => arg.includes(token)), "the token is on no command line");
        // `--tls-cert PATH`, or `--tls-cert=PATH` as the nanny passes it on
        const given = cmdline.indexOf("--tls-cert");
        const cert = given >= 0
          ? cmdline[given + 1]
          : cmdline.find((arg) => arg.startsWith("--tls-cert="))!.slice("--tls-cert=".length);
        assert.match(cert, /\/cert\.pem$/);
        folders.add(cert.slice(0, -"/cert.pem".length));
        assert.equal(Deno.statSync(folders.values().next().value!).mode! & 0o777, 0o700);
        assert.match(Deno.readTextFileSync(`/proc/${pid}/environ`), /DASK_DENO_AUTH_TOKEN=/);
      }
      await using client = await Client.connect(cluster, { setAsDefault: false });
      const squares = client.map((x: number) => x * x, [1, 2, 3]);
      assert.deepEqual(await client.gather(squares), [1, 4, 9]);
      // the token alone does not reach a tls:// scheduler
      await assert.rejects(
        Client.connect(cluster.schedulerAddress, { authToken: token, setAsDefault: false }),
        /is a TLS address/,
      );
    } finally {
      await cluster.close();
    }
    const left = () =>
      [...folders].filter((folder) => {
        try {
          Deno.statSync(folder);
          return true;
        } catch {
          return false;
        }
      });
    for (let i = 0; i < 50 && left().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(left(), [], "the hosts' copies of the TLS files are removed");
  },
});

Deno.test({
  name: "SSHCluster: an unreachable host fails with ssh's own words, nothing left running",
  ignore: !sshdAvailable(),
  async fn() {
    await using sshd = await startSshd();
    await assert.rejects(
      SSHCluster.start({
        hosts: ["alpha", "nowhere.invalid"],
        connectOptions: { configFile: sshd.configFile, options: { ConnectTimeout: "5" } },
        schedulerOptions: { host: "127.0.0.1", port: 0, dashboard: false },
        remoteDeno: Deno.execPath(),
        startTimeout: 30,
      }),
      /worker-0 process exited[\s\S]*nowhere\.invalid/,
    );
  },
});

Deno.test("ssh arguments and the remote wrapper quote what they are given", () => {
  assert.deepEqual(sshArgs({ port: 2222, username: "me", options: { ConnectTimeout: "3" } }), [
    "-o",
    "BatchMode=yes",
    "-T",
    "-p",
    "2222",
    "-l",
    "me",
    "-o",
    "ConnectTimeout=3",
  ]);
  const command = remoteCommand(["deno", "run", "it's here.ts"], { A: "x y" });
  assert.match(command, /^exec 3<&0; A='x y' deno run 'it'"'"'s here\.ts' & pid=\$!;/);
  assert.throws(() => remoteCommand(["x"], { "bad name": "1" }), /not an environment variable/);
  // secrets are read from the connection's input, never put on the command line
  const secret = remoteCommand(["deno", "run", "w.ts"], {}, { authToken: true, tls: true });
  assert.match(secret, /IFS= read -r DASK_DENO_AUTH_TOKEN <&3/);
  assert.match(secret, /deno run w\.ts --tls-ca-file "\$tls\/ca\.pem"/);
  assert.match(secret, /rm -rf "\$tls"; exit \$code$/);
  assert.equal(
    secretLines({ authToken: "t0k3n", tls: { ca: "A", cert: "B", key: "C" } }),
    `t0k3n\n${btoa("A")}\n${btoa("B")}\n${btoa("C")}\n`,
  );
});
