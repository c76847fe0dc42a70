/**
 * Guest fuzzing in the suite: the generator is reproducible, its encodings agree with objdump, and
 * a fixed-seed campaign (in-process and through the CLI) finds no crash, hang or internal error.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Bits, Encoder, REG, SREG } from "../../tools/fuzz/encoder.ts";
import { bitsOf, type FuzzImage, generateImage } from "../../tools/fuzz/generator.ts";
import { runCampaign } from "../../tools/fuzz/campaign.ts";
import { FAILURE_DIR, saveFailure, type Tally } from "../../tools/fuzz/report.ts";
import { classifyCli, isPvmHost, ROOT } from "../../tools/fuzz/runner.ts";
import { Prng } from "../../tools/fuzz/prng.ts";
import { IN_NESTED_HOST, rounds } from "../_scale.ts";

const PVM = isPvmHost();
/** The suite's campaign: seed, in-process images (all four modes in turn), CLI images. */
const SEED = 20240601;
/** 2,000 images here; 150 in the nested test host (TCG, ~20x slower). */
const IN_PROCESS = { count: rounds(2000, 150), timeout: 0.03 } as const;
const THROUGH_CLI = { start: 100_000, count: rounds(48, 8), timeout: 0.1 } as const;
/**
 * How late a run may end: the runner's defaults here; in the nested test host, whose CPU is
 * emulated (~20x slower, and a timer's kick can wait for a long emulated instruction), 2 s
 * in-process and 5 s through the CLI (on top of the CLI's measured start-up either way).
 */
const MARGIN = IN_NESTED_HOST ? { inProcess: 2, cli: 5 } : undefined;

const OBJDUMP_MACHINE: Record<Bits, string> = { 16: "i8086", 32: "i386", 64: "i386:x86-64" };

/** Disassembles `bytes` as `bits`-bit code: [offset, Intel text with single spaces][]. */
function objdump(bytes: Uint8Array, bits: Bits): [number, string][] {
  const path = Deno.makeTempFileSync({ prefix: "microvmm_fuzz_", suffix: ".bin" });
  try {
    Deno.writeFileSync(path, bytes);
    const args = ["-D", "-b", "binary", "-m", OBJDUMP_MACHINE[bits], "-M", "intel"];
    let output: Deno.CommandOutput;
    try {
      output = new Deno.Command("objdump", { args: [...args, "--insn-width=16", path] })
        .outputSync();
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new Error(
        "objdump is not installed: the fuzzer's x86 encodings are checked against GNU objdump " +
          "(apt-get install binutils)",
      );
    }
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const text = new TextDecoder().decode(output.stdout);
    return [...text.matchAll(/^\s*([0-9a-f]+):\t[0-9a-f ]+\t(.*)$/gm)]
      .map((m) => [parseInt(m[1], 16), m[2].replace(/\s+/g, " ").trim()]);
  } finally {
    Deno.removeSync(path);
  }
}

Deno.test("fuzz generator: images are reproducible from seed and index alone", async (t) => {
  await t.step("same seed and index, same image; Math.random is never used", () => {
    const random = Math.random;
    Math.random = () => {
      throw new Error("the fuzzer must not use Math.random");
    };
    try {
      for (const mode of ["real", "protected", "paged", "long"] as const) {
        for (let index = 0; index < 40; index++) {
          assert.deepEqual(generateImage(9, index, mode), generateImage(9, index, mode));
        }
      }
    } finally {
      Math.random = random;
    }
  });
  await t.step("other seeds and indexes give other images", () => {
    const images = new Set<string>();
    for (let seed = 0; seed < 10; seed++) {
      for (let index = 0; index < 10; index++) {
        images.add(generateImage(seed, index, "long").bytes.join(","));
      }
    }
    assert.equal(images.size, 100);
  });
  await t.step("xoshiro128** draws are uniform enough: 10 buckets within 10% of 10,000", () => {
    const rng = new Prng(1);
    const buckets = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[rng.below(10)]++;
    for (const n of buckets) assert.ok(Math.abs(n - 10_000) < 1000, `bucket ${n}`);
  });
  await t.step("every image kind and every operation shows up", () => {
    const kinds = new Set<string>();
    const ops = new Set<string>();
    for (let index = 0; index < 300; index++) {
      const image = generateImage(SEED, index, "protected");
      kinds.add(image.kind);
      for (const insn of image.insns) ops.add(insn.op);
    }
    assert.deepEqual([...kinds].sort(), ["mutated", "random", "valid"]);
    for (const op of ["port-out", "string-io", "mmio-store", "vmm-area", "far", "loop", "hlt"]) {
      assert.ok(ops.has(op), `operation ${op}`);
    }
  });
});

Deno.test("fuzz encoder: encodings agree with objdump", async (t) => {
  const [r, p, l] = [new Encoder(16), new Encoder(32), new Encoder(64)];
  const cases: [Encoder, number[], string | RegExp][] = [
    [r, r.out(8, 0xf1), "out 0xf1,al"],
    [r, r.out(32), "out dx,eax"],
    [r, r.stringIo("outs", 8, true), "rep outs dx,BYTE PTR ds:[si]"],
    [r, r.stringIo("ins", 32, true), "rep ins DWORD PTR es:[di],dx"],
    [r, r.stringIo("outs", 16, true, true), "rep outs dx,WORD PTR ds:[esi]"],
    [r, r.movToCr(0), "mov cr0,eax"],
    [r, r.farDirect("jmp", 0, 0x1234, 16), "jmp 0x0:0x1234"],
    [r, r.farIndirect("call", 16), "call DWORD PTR [bx]"],
    [r, r.descriptorTable("lgdt"), /^lgdtw? \[bx\]$/],
    [r, r.movImm(REG.AX, 16, 0xd000), "mov ax,0xd000"],
    [r, r.movToSreg(SREG.DS), "mov ds,ax"],
    [r, r.storeImm(32, 0x12345678, 2), "mov DWORD PTR [bx+0x2],0x12345678"],
    [p, p.in(16, 0x60), "in ax,0x60"],
    [p, p.stringIo("outs", 16, true), "rep outs dx,WORD PTR ds:[esi]"],
    [p, p.movAddr(0xd000_0000), "mov ebx,0xd0000000"],
    [p, p.store(32), "mov DWORD PTR [ebx],eax"],
    [p, p.farDirect("call", 0x08, 0x1000, 32), "call 0x8:0x1000"],
    [p, p.farIndirect("jmp", 32), "jmp FWORD PTR [ebx]"],
    [p, p.descriptorTable("lidt"), /^lidtd? \[ebx\]$/],
    [p, p.int(0x80), "int 0x80"],
    [p, p.movFromCr(4), "mov eax,cr4"],
    [p, p.xorAccumulator(0x8000_0000), "xor eax,0x80000000"],
    [p, p.decCounter(), "dec ecx"],
    [l, l.movAddr(0x1_0000_0000), "movabs rbx,0x100000000"],
    [l, l.load(64), "mov rax,QWORD PTR [rbx]"],
    [l, l.storeImm(8, 0xf4), "mov BYTE PTR [rbx],0xf4"],
    [l, l.storeImm(64, 0x41), "mov QWORD PTR [rbx],0x41"],
    [l, l.movToCr(3), "mov cr3,rax"],
    [l, l.stringIo("ins", 8, true, true), "rep ins BYTE PTR es:[edi],dx"],
    [l, l.decCounter(), "dec rcx"],
    [l, l.iret(), "iretq"],
    [l, l.out(16, 0xe9), "out 0xe9,ax"],
    [l, l.movImm(REG.DX, 16, 0x3f8), "mov dx,0x3f8"],
    [l, l.farIndirect("call", 64), /^(rex\.W )?call (FWORD|TBYTE) PTR \[rbx\]$/],
  ];
  for (const bits of [16, 32, 64] as const) {
    await t.step(`${bits}-bit: ${cases.filter(([e]) => e.bits === bits).length} forms`, () => {
      const mine = cases.filter(([e]) => e.bits === bits);
      const offsets: number[] = [];
      let at = 0;
      for (const [, b] of mine) {
        offsets.push(at);
        at += b.length;
      }
      const bytes = mine.flatMap(([, b]) => b);
      const listing = objdump(new Uint8Array(bytes), bits);
      assert.deepEqual(listing.map(([o]) => o), offsets, "one instruction per form");
      listing.forEach(([, text], i) => {
        const want = mine[i][2];
        if (typeof want === "string") assert.equal(text, want);
        else assert.match(text, want);
      });
    });
  }
  await t.step("valid sequences decode at exactly the generator's instruction boundaries", () => {
    for (const mode of ["real", "protected", "long"] as const) {
      let checked = 0;
      for (let index = 0; checked < 40; index++) {
        const image = generateImage(SEED, index, mode);
        if (image.kind !== "valid") continue;
        checked++;
        const listing = objdump(image.bytes, bitsOf(mode));
        const where = `${mode} image ${index}`;
        assert.ok(listing.every(([, text]) => !text.includes("(bad)")), `${where}: (bad)`);
        assert.deepEqual(listing.map(([o]) => o), image.insns.map((i) => i.offset), where);
      }
    }
  });
});

Deno.test("fuzz runner: names a CLI run's end from its status and stderr", () => {
  const crash = "microvmm: guest triple-faulted (KVM_EXIT_SHUTDOWN)\n  RIP=0x...\n";
  assert.deepEqual(classifyCli(0, "", "real", false), { end: "hlt|exit-0" });
  assert.deepEqual(classifyCli(70, "", "real", false), { end: "exit-device" });
  assert.deepEqual(classifyCli(1, crash, "long", false), { end: "shutdown" });
  const timeout = "microvmm: guest timed out after 0.1 s\n";
  assert.deepEqual(classifyCli(124, timeout, "real", false), { end: "timeout" });
  const paged = "microvmm: Cannot start guest in paged mode: this KVM dropped CR0.PG\n";
  assert.deepEqual(classifyCli(3, paged, "paged", true), { end: "unsupported" });
  assert.equal("failure" in classifyCli(3, paged, "paged", false), true, "not on a real KVM");
  const bug = "microvmm: internal error: boom\n";
  assert.deepEqual(classifyCli(70, bug, "real", false), {
    category: "internal-error",
    failure: `status 70, stderr:\n${bug}`,
  });
  assert.equal("failure" in classifyCli(1, "    at foo (x.ts:1:1)\n", "real", false), true);
});

Deno.test("fuzz runner: a failing image is saved with a command that replays it", async () => {
  const e = new Encoder(64);
  // mov rbx, 0x100000000; mov eax, [rbx]: a page fault with no IDT, so a triple fault.
  const bytes = new Uint8Array([...e.movAddr(0x1_0000_0000), ...e.load(32)]);
  const image: FuzzImage = {
    seed: 0xffff_ffff,
    index: 0,
    mode: "long",
    memSize: 0x2_0000,
    kind: "valid",
    bytes,
    insns: [],
  };
  // 5 s: the triple fault comes at once on hardware KVM, but the first KVM_RUN of a fresh VM can
  // take more than 0.5 s under the nested host's emulated CPU when the machine is busy.
  const lines = saveFailure(image, 5, "a test of saveFailure");
  const name = `${ROOT}${FAILURE_DIR}/4294967295-0-long`;
  try {
    assert.match(lines[0], /^fuzz FAILURE: seed 4294967295 image 0 \(long, valid, 12 bytes/);
    assert.deepEqual(Deno.readFileSync(`${name}.bin`), bytes);
    assert.equal(Deno.readTextFileSync(`${name}.txt`), lines.join("\n") + "\n");
    const command = lines[2].trim();
    assert.equal(
      command,
      "deno run --allow-ffi --allow-read --allow-env main.ts --mode long --mem 128K " +
        `--timeout 5 ${FAILURE_DIR}/4294967295-0-long.bin </dev/null`,
    );
    const replay = await new Deno.Command("sh", {
      args: ["-c", command.replace(/^deno /, `'${Deno.execPath()}' `)],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(replay.stderr);
    assert.equal(replay.code, 1, stderr);
    assert.match(stderr, /^microvmm: guest triple-faulted/);
  } finally {
    Deno.removeSync(`${name}.bin`);
    Deno.removeSync(`${name}.txt`);
  }
});

/** Asserts a clean campaign and prints its report. */
function assertClean(tally: Tally, count: number): void {
  console.log(tally.format());
  const failures = tally.failures.map((f) => `${f.image.index} ${f.image.mode}: ${f.failure}`);
  assert.equal(tally.images, count);
  assert.equal(tally.crashes, 0, `crashes:\n${failures.join("\n")}`);
  assert.equal(tally.hangs, 0, `hangs:\n${failures.join("\n")}`);
  assert.deepEqual(failures, []);
  const unsupported = tally.ends.get("unsupported") ?? 0;
  assert.equal(unsupported, PVM ? tally.modes.get("paged") : 0, "paged is refused only on PVM");
}

Deno.test(
  `fuzz: ${IN_PROCESS.count} images in-process, seed ${SEED}: no crash, hang or internal error`,
  async () => {
    const tally = await runCampaign({ seed: SEED, mode: "all", margin: MARGIN, ...IN_PROCESS });
    assertClean(tally, IN_PROCESS.count);
    for (const mode of ["real", "protected", "long"]) {
      assert.ok(tally.endsByMode.get(mode)!.size >= 2, `${mode}: more than one kind of end`);
    }
  },
);

Deno.test(
  `fuzz: ${THROUGH_CLI.count} images through the microvmm command, seed ${SEED}`,
  async () => {
    const tally = await runCampaign({ seed: SEED, cli: true, margin: MARGIN, ...THROUGH_CLI });
    assertClean(tally, THROUGH_CLI.count);
  },
);
