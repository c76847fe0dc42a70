/**
 * The option values of a Linux boot that the command line checks: kept apart from LinuxVm so
 * that parsing a command line does not load the Linux boot path.
 *
 * @module
 */

/** Default RAM of a Linux guest: 256 MiB. */
export const DEFAULT_LINUX_MEM_SIZE = 256 * 2 ** 20;

/** Which entry point to boot a kernel through. */
export type BootProtocol = "auto" | "pvh" | "linux64";

/** The boot protocols `--boot` accepts. */
export const BOOT_PROTOCOLS: readonly BootProtocol[] = ["auto", "pvh", "linux64"];
