/**
 * Every entry of the ABI tables (lib/kvm/abi.ts, the libc constants of lib/kvm/ffi.ts and the
 * timer ABI of lib/vmm/kicker.ts) equals what gcc computes from `<linux/kvm.h>` and libc's headers.
 *
 * @module
 */

import assert from "node:assert/strict";
import * as abi from "../../lib/kvm/abi.ts";
import * as ffi from "../../lib/kvm/ffi.ts";
import * as kicker from "../../lib/vmm/kicker.ts";
import {
  type AbiCheck,
  compileAndRun,
  evaluate,
  kickerChecks,
  kvmAbiChecks,
  kvmRunMember,
  libcChecks,
  macroChecks,
  mismatches,
  structChecks,
  ToolchainMissingError,
} from "./abi_c.ts";

/**
 * Tables that must be among the checked ones: a floor, so a classifier that silently checked
 * nothing could not pass. New tables are checked without being listed here.
 */
const REQUIRED_TABLES = [
  "IOCTLS",
  "CAPS",
  "EXIT_REASONS",
  "INTERNAL_ERRORS",
  "SYSTEM_EVENTS",
  "constants",
  "KVM_REGS",
  "KVM_SEGMENT",
  "KVM_DTABLE",
  "KVM_SREGS",
  "KVM_USERSPACE_MEMORY_REGION",
  "KVM_RUN",
  "ffi.ts constants",
  "ffi.ts ERRNO_NAMES",
  "kicker.ts constants",
  "SIGEVENT",
  "ITIMERSPEC",
];

/** All checks, grouped by table in first-seen order. */
function byTable(checks: readonly AbiCheck[]): Map<string, AbiCheck[]> {
  const tables = new Map<string, AbiCheck[]>();
  for (const check of checks) {
    const list = tables.get(check.table) ?? [];
    list.push(check);
    tables.set(check.table, list);
  }
  return tables;
}

Deno.test("ABI tables agree with gcc, <linux/kvm.h> and libc's headers", async (t) => {
  const checks = [
    ...kvmAbiChecks(abi as unknown as Record<string, unknown>),
    ...libcChecks(ffi as unknown as Record<string, unknown>),
    ...kickerChecks(kicker),
  ];
  const values = await evaluate(checks);
  const tables = byTable(checks);

  await t.step(`every table and entry is checked (${checks.length} entries)`, () => {
    assert.deepEqual(REQUIRED_TABLES.filter((name) => !tables.has(name)), []);
    for (const [name, value] of Object.entries(abi)) {
      if (typeof value === "number") {
        assert.ok(checks.some((check) => check.name === name), `${name} is not checked`);
      } else {
        assert.equal(tables.get(name)?.length, Object.keys(value).length, `${name} entries`);
      }
    }
    assert.equal(values.size, checks.length, "the C program printed one line per entry");
  });

  for (const [table, tableChecks] of tables) {
    await t.step(`${table} (${tableChecks.length} entries)`, () => {
      const wrong = mismatches(tableChecks, values);
      if (wrong.length > 0) {
        assert.fail(
          `${wrong.length} of ${tableChecks.length} ${table} entries differ:\n${wrong.join("\n")}`,
        );
      }
    });
  }
});

Deno.test("the ABI check reports every wrong entry by name", async () => {
  const checks = [
    ...kvmAbiChecks({
      IOCTLS: { KVM_RUN: 0xae80, KVM_GET_REGS: 0x8090ae82 },
      CAPS: { KVM_CAP_NO_SUCH_CAPABILITY: 1 },
      KVM_SREGS: { size: 312, efer: 272, apic_base: 272 },
      KVM_RUN: { io_port: 34, emulation_failure_insn_bytes: 48 },
    }),
    ...structChecks("SIGEVENT", "<signal.h>", "struct sigevent", { signo: 4 }, (key) => {
      return key === "signo" ? "sigev_signo" : undefined;
    }),
  ];
  assert.deepEqual(mismatches(checks, await evaluate(checks)), [
    "KVM_GET_REGS: table 0x8090ae82, <linux/kvm.h> 0x8090ae81",
    "KVM_CAP_NO_SUCH_CAPABILITY: table 1, <linux/kvm.h> does not define it",
    "KVM_SREGS.efer: table 272, <linux/kvm.h> 264",
    "KVM_RUN.emulation_failure_insn_bytes: table 48, <linux/kvm.h> 49",
    "SIGEVENT.signo: table 4, <signal.h> 8",
  ]);
});

Deno.test("a missing gcc fails the ABI check, saying what to install", async () => {
  await assert.rejects(
    compileAndRun("int main(void) { return 0; }\n", "/nonexistent/gcc"),
    (error: unknown) => {
      assert.ok(error instanceof ToolchainMissingError);
      assert.equal(
        error.message,
        "gcc not found: install gcc and linux-libc-dev to check the KVM ABI",
      );
      return true;
    },
  );
});

Deno.test("a missing header fails the ABI check, naming the header and its package", async () => {
  await assert.rejects(
    compileAndRun("#include <linux/no_such_header.h>\nint main(void) { return 0; }\n"),
    (error: unknown) => {
      assert.ok(error instanceof ToolchainMissingError, String(error));
      assert.equal(
        error.message,
        "<linux/no_such_header.h> not found: install gcc and linux-libc-dev to check the KVM ABI",
      );
      return true;
    },
  );
});

Deno.test("ABI table keys map to C members explicitly", async (t) => {
  await t.step("KVM_RUN keys: exit union members by prefix, others direct", () => {
    const cases: Record<string, string> = {
      exit_reason: "exit_reason",
      immediate_exit: "immediate_exit",
      if_flag: "if_flag",
      apic_base: "apic_base",
      io_port: "io.port",
      io_data_offset: "io.data_offset",
      ex_error_code: "ex.error_code",
      hw_hardware_exit_reason: "hw.hardware_exit_reason",
      fail_entry_hardware_entry_failure_reason: "fail_entry.hardware_entry_failure_reason",
      fail_entry_cpu: "fail_entry.cpu",
      mmio_is_write: "mmio.is_write",
      internal_suberror: "internal.suberror",
      emulation_failure_insn_bytes: "emulation_failure.insn_bytes",
      system_event_type: "system_event.type",
    };
    for (const [key, member] of Object.entries(cases)) assert.equal(kvmRunMember(key), member);
  });

  await t.step("a table key without a C member is an error, not skipped", () => {
    assert.throws(
      () =>
        kickerChecks({
          ...kicker,
          SIGEVENT: { ...kicker.SIGEVENT, value: 0 } as typeof kicker.SIGEVENT,
        }),
      /SIGEVENT\.value: no C member of struct sigevent is known for it/,
    );
  });

  await t.step("an abi.ts export of an unknown shape is an error, not skipped", () => {
    assert.throws(
      () => kvmAbiChecks({ KVM_NAMES: { KVM_EXIT_IO: "io" } }),
      /abi\.ts export KVM_NAMES is neither a number nor a table of numbers/,
    );
  });

  await t.step("macro checks carry the macro name for #ifdef", () => {
    assert.deepEqual(macroChecks("CAPS", "<linux/kvm.h>", { KVM_CAP_USER_MEMORY: 3 }), [{
      table: "CAPS",
      name: "KVM_CAP_USER_MEMORY",
      expected: 3,
      expr: "KVM_CAP_USER_MEMORY",
      macro: "KVM_CAP_USER_MEMORY",
      header: "<linux/kvm.h>",
    }]);
  });
});
