/**
 * Iteration counts for the heavy tests: inside the nested test host (QEMU TCG, ~20x slower than
 * this machine; `NESTED_HOST=1`) they run fewer rounds, so `make test-nested` runs every test in
 * CI's time. Outside it they run the full count.
 *
 * @module
 */

/** Whether this process runs inside the nested full-KVM test host (tests/host/). */
export const IN_NESTED_HOST = Deno.env.get("NESTED_HOST") === "1";

/** `outside` normally, `nested` inside the nested test host. */
export function rounds(outside: number, nested: number): number {
  return IN_NESTED_HOST ? nested : outside;
}
