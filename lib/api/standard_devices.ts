/**
 * The devices every flat-guest VM gets, wired to their ports (see `arch/x86_64/layout.ts`).
 *
 * @module
 */

import type { Bus } from "../vmm/bus.ts";
import type { ConsoleSink } from "../vmm/console_sink.ts";
import type { RunControl } from "../vmm/run_loop.ts";
import { PORTS } from "../arch/x86_64/layout.ts";
import { DebugConsole } from "../devices/debug_console.ts";
import { ExitPort } from "../devices/exit_port.ts";
import { PostPort } from "../devices/post_port.ts";
import { Serial } from "../devices/serial.ts";

/** The standard devices of a VM. */
export interface StandardDevices {
  /** Port 0xf1, the seed's console. */
  seedConsole: DebugConsole;
  /** Port 0xe9, debugcon. */
  debugcon: DebugConsole;
  /** Port 0xf4, the exit device. */
  exit: ExitPort;
  /** Port 0x80, POST codes. */
  post: PostPort;
  /** COM1 at 0x3f8. */
  com1: Serial;
}

/**
 * Creates the standard devices and inserts them on `ports`. `com1Irq`, if given, raises and lowers
 * COM1's interrupt line (a Linux guest with an in-kernel irqchip); flat guests poll it.
 */
export function addStandardDevices(
  ports: Bus,
  console: ConsoleSink,
  control: RunControl,
  input: (() => number | null) | undefined,
  com1Irq?: (level: boolean) => void,
): StandardDevices {
  const put = (byte: number) => console.put(byte);
  const devices: StandardDevices = {
    seedConsole: new DebugConsole(put),
    debugcon: new DebugConsole(put, PORTS.DEBUGCON),
    exit: new ExitPort((status) => control.requestStop({ kind: "exit-device", status })),
    post: new PostPort(),
    com1: new Serial({ transmit: put, receive: input, setIrq: com1Irq }),
  };
  ports.insert(PORTS.SEED_CONSOLE, 1, "seed console", devices.seedConsole);
  ports.insert(PORTS.DEBUGCON, 1, "debugcon", devices.debugcon);
  ports.insert(PORTS.EXIT, 1, "exit port", devices.exit);
  ports.insert(PORTS.POST, 1, "POST port", devices.post);
  ports.insert(PORTS.COM1, 8, "COM1", devices.com1);
  return devices;
}
