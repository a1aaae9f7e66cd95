/**
 * The Dockerfile and the Kubernetes manifests, read as their tools read them (no container engine
 * runs here): the commands they run must be this repository's CLIs with options those CLIs accept,
 * and the ports, service name and image must agree with each other.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "npm:yaml@2.9.1";
import { parseCli } from "../../core/cli.ts";
import { SCHEDULER_CLI } from "../../scheduler/options.ts";
import { WORKER_CLI } from "../../worker/options.ts";
import { CLI } from "../helpers/cluster.ts";

const read = (path: string) => Deno.readTextFile(`${CLI.repo}${path}`);

/** Dockerfile instructions (continuation lines joined, comments dropped). */
async function dockerfile(): Promise<Map<string, string[]>> {
  const text = (await read("Dockerfile")).replace(/\\\n/g, " ");
  const instructions = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const match = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (match === null) continue;
    instructions.set(match[1], [...(instructions.get(match[1]) ?? []), match[2]]);
  }
  return instructions;
}

/** A container command's `deno run` module and arguments, checked against that CLI's options. */
function checkCommand(
  command: string[],
  where: string,
): { cli: "scheduler" | "worker"; args: string[] } {
  const module = command.find((word) => word.endsWith("/main.ts"));
  assert.ok(module !== undefined, `${where} runs no CLI: ${command.join(" ")}`);
  const cli = module === "scheduler/main.ts"
    ? "scheduler"
    : module === "worker/main.ts"
    ? "worker"
    : undefined;
  assert.ok(cli !== undefined, `${where} runs ${module}, not scheduler/main.ts or worker/main.ts`);
  const args = command.slice(command.indexOf(module) + 1);
  // parses exactly as the CLI would: unknown options or missing values throw
  parseCli(cli === "scheduler" ? SCHEDULER_CLI : WORKER_CLI, args);
  return { cli, args };
}

const valueOf = (args: string[], flag: string) => {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
};

// Manifests are read field by field below, as kubectl would; their shape is checked there.
// deno-lint-ignore no-explicit-any
type Manifest = { kind: string; metadata: { name: string }; spec: Record<string, any> };

async function manifests(): Promise<Manifest[]> {
  const documents: Manifest[] = [];
  for await (const entry of Deno.readDir(`${CLI.repo}k8s`)) {
    if (!entry.name.endsWith(".yaml")) continue;
    for (const doc of parseAllDocuments(await read(`k8s/${entry.name}`))) {
      assert.equal(doc.errors.length, 0, `k8s/${entry.name}: ${doc.errors.join("; ")}`);
      documents.push(doc.toJS() as Manifest);
    }
  }
  return documents;
}

Deno.test("Dockerfile: Deno from npm, the CLIs cached, its default command a valid scheduler", async () => {
  const docker = await dockerfile();
  assert.ok(docker.get("RUN")!.some((r) => /npm install -g deno@2/.test(r)));
  assert.ok(
    docker.get("RUN")!.some((r) => /deno cache .*scheduler\/main\.ts .*worker\/main\.ts/.test(r)),
  );
  const entrypoint = JSON.parse(docker.get("ENTRYPOINT")![0]) as string[];
  const cmd = JSON.parse(docker.get("CMD")![0]) as string[];
  assert.deepEqual(entrypoint.slice(-5), [
    "deno",
    "run",
    "-A",
    "--unstable-worker-options",
    "--no-config",
  ]);
  const { cli, args } = checkCommand([...entrypoint, ...cmd], "Dockerfile CMD");
  assert.equal(cli, "scheduler");
  const exposed = docker.get("EXPOSE")![0].split(/\s+/);
  assert.deepEqual(exposed, [valueOf(args, "--port"), valueOf(args, "--dashboard-port")]);
  // what the build copies: the CLIs and the library, not the tests
  const ignored = (await read(".dockerignore")).split("\n");
  assert.ok(ignored.includes("tests") && !ignored.includes("worker"));
});

Deno.test("Kubernetes: scheduler Deployment + Service, worker Deployment, ports and names agree", async () => {
  const docs = await manifests();
  const docker = await dockerfile();
  const entrypoint = JSON.parse(docker.get("ENTRYPOINT")![0]) as string[];
  const deployment = (name: string) =>
    docs.find((d) => d.kind === "Deployment" && d.metadata.name === name);
  const scheduler = deployment("dask-scheduler");
  const worker = deployment("dask-worker");
  const service = docs.find((d) => d.kind === "Service");
  assert.ok(scheduler && worker && service, "a scheduler and a worker Deployment and a Service");

  const schedulerContainer = scheduler.spec.template.spec.containers[0];
  const s = checkCommand([...entrypoint, ...schedulerContainer.args], "scheduler Deployment");
  assert.equal(s.cli, "scheduler");
  const ports = Object.fromEntries(
    schedulerContainer.ports.map((
      p: { name: string; containerPort: number },
    ) => [p.name, p.containerPort]),
  );
  assert.equal(String(ports["tcp-comm"]), valueOf(s.args, "--port"));
  assert.equal(String(ports["http-dashboard"]), valueOf(s.args, "--dashboard-port"));
  assert.equal(schedulerContainer.readinessProbe.httpGet.path, "/health");

  // the Service selects the scheduler pods and exposes both ports by name
  const labels = scheduler.spec.template.metadata.labels;
  for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(labels[k], v);
  const servicePorts = service.spec.ports as { port: number; targetPort: string }[];
  assert.deepEqual(servicePorts.map((p) => p.targetPort).sort(), ["http-dashboard", "tcp-comm"]);

  const workerContainer = worker.spec.template.spec.containers[0];
  assert.equal(workerContainer.image, schedulerContainer.image);
  const w = checkCommand([...entrypoint, ...workerContainer.args], "worker Deployment");
  assert.equal(w.cli, "worker");
  const comm = servicePorts.find((p) => p.targetPort === "tcp-comm")!;
  assert.equal(w.args[0], `tcp://${service.metadata.name}:${comm.port}`);
  // threads fit the CPU limit; the memory limit fits the container's
  assert.equal(Number(valueOf(w.args, "--nthreads")), Number(workerContainer.resources.limits.cpu));
  assert.equal(valueOf(w.args, "--memory-limit"), `${workerContainer.resources.limits.memory}B`);
  const scratch = valueOf(w.args, "--local-directory");
  assert.ok(
    workerContainer.volumeMounts.some((m: { mountPath: string }) => m.mountPath === scratch),
  );
});
