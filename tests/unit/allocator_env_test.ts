import assert from "node:assert/strict";
import { withHugePageAllocator } from "../../core/allocator_env.ts";
import { ManagedProcess } from "../../deploy/process.ts";

const linux = Deno.build.os === "linux";

Deno.test({
  name: "huge pages: the tunable is added, a user's other tunables are kept, theirs wins",
  ignore: !linux,
  fn() {
    const inherited = Deno.env.get("GLIBC_TUNABLES");
    try {
      Deno.env.delete("GLIBC_TUNABLES");
      assert.deepEqual(withHugePageAllocator({ A: "1" }), {
        A: "1",
        GLIBC_TUNABLES: "glibc.malloc.hugetlb=1",
      });
      assert.deepEqual(withHugePageAllocator({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }), {
        GLIBC_TUNABLES: "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1",
      });
      // the user turned it off (or chose another mode): left as it is
      assert.deepEqual(withHugePageAllocator({ GLIBC_TUNABLES: "glibc.malloc.hugetlb=0" }), {
        GLIBC_TUNABLES: "glibc.malloc.hugetlb=0",
      });
      Deno.env.set("GLIBC_TUNABLES", "glibc.malloc.hugetlb=2");
      assert.deepEqual(withHugePageAllocator({}), {});
    } finally {
      if (inherited === undefined) Deno.env.delete("GLIBC_TUNABLES");
      else Deno.env.set("GLIBC_TUNABLES", inherited);
    }
  },
});

Deno.test({
  name: "huge pages: a Deno child a cluster manager starts sees the tunable, another program not",
  ignore: !linux || Deno.env.get("GLIBC_TUNABLES") !== undefined,
  async fn() {
    // what a child printed, read once it ended (it may end before its line is read)
    const printed = async (process: ManagedProcess) => {
      await process.status;
      await process.output;
      return process.tail.find((line) => line.startsWith("TUNABLES="));
    };
    const deno = new ManagedProcess("deno child", {
      args: ["eval", 'console.log("TUNABLES=" + Deno.env.get("GLIBC_TUNABLES"))'],
    });
    const other = new ManagedProcess("sh child", {
      program: "sh",
      args: ["-c", 'echo "TUNABLES=${GLIBC_TUNABLES:-unset}"'],
    });
    assert.equal(await printed(deno), "TUNABLES=glibc.malloc.hugetlb=1");
    assert.equal(await printed(other), "TUNABLES=unset");
  },
});
